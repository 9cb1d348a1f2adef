//! Cutting images into the paper's tokens (docs/reference.md section 2).
//!
//! | layout | image | tokens x dim | values |
//! |---|---|---|---|
//! | [`PatchLayout::Mnist`] | 1x28x28 | 49 x 16 (4x4 patches) | pixel / 255 |
//! | [`PatchLayout::Cifar10`] | 3x32x32 | 64 x 48 (4x4 patches, `(p1 p2 c)` order) | (pixel / 255 - mean\[c\]) / std\[c\] |
//! | [`PatchLayout::Cifar10Lra`] | 3x32x32 | 1024 x 1 (grayscale pixels) | (gray / 255 - 0.5) / 0.5 |
//!
//! Patches are taken row-major over the patch grid; inside a patch, `(p1 p2 c)` means the
//! row offset varies slowest and the channel fastest, as einops'
//! `b c (h p1) (w p2) -> b (h w) (p1 p2 c)` gives.
//!
//! Grayscale is PIL's `convert('L')` (ITU-R 601-2 luma), in PIL's own fixed-point form:
//! `L = (19595 R + 38470 G + 7471 B + 32768) >> 16`, i.e. 0.299 R + 0.587 G + 0.114 B rounded.

use super::ImageSet;
use crate::synthetic::FeatureBatch;

pub const CIFAR_MEAN: [f32; 3] = [0.4914, 0.4822, 0.4465];
pub const CIFAR_STD: [f32; 3] = [0.2023, 0.1994, 0.2010];
pub const PATCH: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchLayout {
    Mnist,
    Cifar10,
    Cifar10Lra,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PatchError {
    #[error("{layout:?} needs images of {expected:?} (channels, height, width), got {got:?}")]
    WrongShape {
        layout: PatchLayout,
        expected: (usize, usize, usize),
        got: (usize, usize, usize),
    },
    #[error("image index {index} is past the end of a set of {count}")]
    NoSuchImage { index: usize, count: usize },
}

impl PatchLayout {
    /// The image shape `(channels, height, width)` this layout takes.
    pub fn image_shape(self) -> (usize, usize, usize) {
        match self {
            PatchLayout::Mnist => (1, 28, 28),
            PatchLayout::Cifar10 | PatchLayout::Cifar10Lra => (3, 32, 32),
        }
    }

    /// `(tokens, dim)` of one image.
    pub fn token_shape(self) -> (usize, usize) {
        let (c, h, w) = self.image_shape();
        match self {
            PatchLayout::Mnist | PatchLayout::Cifar10 => {
                ((h / PATCH) * (w / PATCH), PATCH * PATCH * c)
            }
            PatchLayout::Cifar10Lra => (h * w, 1),
        }
    }

    /// Append the tokens of one `[channels, height, width]` image (of [`Self::image_shape`])
    /// to `out`.
    pub fn tokens_into(self, image: &[u8], out: &mut Vec<f32>) {
        let (c, h, w) = self.image_shape();
        let plane = h * w;
        match self {
            PatchLayout::Mnist | PatchLayout::Cifar10 => {
                for py in 0..h / PATCH {
                    for px in 0..w / PATCH {
                        for p1 in 0..PATCH {
                            let row = (py * PATCH + p1) * w + px * PATCH;
                            for p2 in 0..PATCH {
                                for ch in 0..c {
                                    let v = f32::from(image[ch * plane + row + p2]) / 255.0;
                                    out.push(if self == PatchLayout::Mnist {
                                        v
                                    } else {
                                        (v - CIFAR_MEAN[ch]) / CIFAR_STD[ch]
                                    });
                                }
                            }
                        }
                    }
                }
            }
            PatchLayout::Cifar10Lra => {
                for i in 0..plane {
                    let g = gray(image[i], image[plane + i], image[2 * plane + i]);
                    out.push((f32::from(g) / 255.0 - 0.5) / 0.5);
                }
            }
        }
    }

    /// Tokens and labels of the images at `indices`, each first passed through `transform`
    /// (e.g. seeded augmentation; identity for evaluation). Targets are the class labels.
    pub fn batch(
        self,
        set: &ImageSet,
        indices: &[usize],
        mut transform: impl FnMut(&[u8]) -> Vec<u8>,
    ) -> Result<FeatureBatch, PatchError> {
        let got = (set.channels, set.height, set.width);
        if got != self.image_shape() {
            return Err(PatchError::WrongShape {
                layout: self,
                expected: self.image_shape(),
                got,
            });
        }
        let (tokens, dim) = self.token_shape();
        let mut inputs = Vec::with_capacity(indices.len() * tokens * dim);
        let mut targets = Vec::with_capacity(indices.len());
        for &index in indices {
            let (Some(image), Some(&label)) = (set.image(index), set.labels.get(index)) else {
                return Err(PatchError::NoSuchImage {
                    index,
                    count: set.count,
                });
            };
            self.tokens_into(&transform(image), &mut inputs);
            targets.push(i64::from(label));
        }
        Ok(FeatureBatch {
            inputs,
            targets,
            batch: indices.len(),
            tokens,
            dim,
            targets_per_example: 1,
        })
    }
}

/// PIL's RGB -> L conversion (ITU-R 601-2 luma, fixed point, rounded).
pub fn gray(r: u8, g: u8, b: u8) -> u8 {
    ((19595 * u32::from(r) + 38470 * u32::from(g) + 7471 * u32::from(b) + 0x8000) >> 16) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(c: usize, side: usize, count: usize) -> ImageSet {
        let n = c * side * side;
        ImageSet {
            count,
            channels: c,
            height: side,
            width: side,
            pixels: (0..count * n).map(|i| (i % 256) as u8).collect(),
            labels: (0..count as u8).collect(),
        }
    }

    #[test]
    fn mnist_patches_are_4x4_row_major() {
        let s = set(1, 28, 2);
        let b = PatchLayout::Mnist.batch(&s, &[1], |x| x.to_vec()).unwrap();
        assert_eq!((b.batch, b.tokens, b.dim), (1, 49, 16));
        assert_eq!(b.targets, [1]);
        let img = s.image(1).unwrap();
        // token 1 = patch at row 0, column 1; its element (p1=2, p2=3) is pixel (2, 7).
        assert_eq!(b.inputs[16 + 2 * 4 + 3], f32::from(img[2 * 28 + 7]) / 255.0);
    }

    #[test]
    fn cifar_patches_are_p1_p2_c_and_normalised() {
        let s = set(3, 32, 1);
        let b = PatchLayout::Cifar10
            .batch(&s, &[0], |x| x.to_vec())
            .unwrap();
        assert_eq!((b.tokens, b.dim), (64, 48));
        let img = s.image(0).unwrap();
        // token 9 = patch row 1, column 1; element (p1=1, p2=2, c=2) is pixel (5, 6) blue.
        let v = f32::from(img[2 * 1024 + 5 * 32 + 6]) / 255.0;
        let got = b.inputs[9 * 48 + (4 + 2) * 3 + 2];
        assert!((got - (v - CIFAR_MEAN[2]) / CIFAR_STD[2]).abs() < 1e-6);
    }

    #[test]
    fn lra_is_grayscale_normalised() {
        let mut s = set(3, 32, 1);
        s.pixels[..1024].fill(255);
        s.pixels[1024..].fill(0);
        let b = PatchLayout::Cifar10Lra
            .batch(&s, &[0], |x| x.to_vec())
            .unwrap();
        assert_eq!((b.tokens, b.dim), (1024, 1));
        assert!((b.inputs[0] - ((76.0 / 255.0 - 0.5) / 0.5)).abs() < 1e-6);
        assert_eq!(gray(255, 255, 255), 255);
        assert_eq!(gray(0, 0, 0), 0);
    }

    #[test]
    fn shape_and_index_errors() {
        let s = set(1, 28, 1);
        assert!(matches!(
            PatchLayout::Cifar10.batch(&s, &[0], |x| x.to_vec()),
            Err(PatchError::WrongShape { .. })
        ));
        assert_eq!(
            PatchLayout::Mnist
                .batch(&s, &[3], |x| x.to_vec())
                .unwrap_err(),
            PatchError::NoSuchImage { index: 3, count: 1 }
        );
    }
}
