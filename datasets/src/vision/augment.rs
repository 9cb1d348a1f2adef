//! Seeded CIFAR-10 training augmentation on `[channels, height, width]` u8 images, in the
//! reference code's order (docs/reference.md section 2):
//!
//! 1. random crop back to the original size from the image zero-padded by 4 on each side
//!    (offsets uniform in 0..=8 per axis, as torchvision's `RandomCrop(32, padding=4)`);
//! 2. horizontal flip with probability 0.5;
//! 3. rotation by an angle uniform in [-20, 20] degrees about the image centre, nearest-
//!    neighbour sampling, zero fill outside the source (torchvision `RandomRotation(20)`'s
//!    defaults).
//!
//! All randomness comes from the caller's RNG, so a seeded `ChaCha8Rng` gives the same
//! images on every run and platform.

use rand::Rng;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Augmentation {
    pub pad: usize,
    pub flip_probability: f64,
    pub max_degrees: f32,
}

impl Default for Augmentation {
    fn default() -> Self {
        Self {
            pad: 4,
            flip_probability: 0.5,
            max_degrees: 20.0,
        }
    }
}

impl Augmentation {
    /// Augment one image; `image.len()` must be `channels * height * width`.
    pub fn apply(
        &self,
        image: &[u8],
        (channels, height, width): (usize, usize, usize),
        rng: &mut impl Rng,
    ) -> Vec<u8> {
        let dy = rng.random_range(0..=2 * self.pad) as isize - self.pad as isize;
        let dx = rng.random_range(0..=2 * self.pad) as isize - self.pad as isize;
        let flip = rng.random_bool(self.flip_probability);
        let degrees = if self.max_degrees > 0.0 {
            rng.random_range(-self.max_degrees..=self.max_degrees)
        } else {
            0.0
        };
        let (sin, cos) = degrees.to_radians().sin_cos();
        let (cy, cx) = ((height as f32 - 1.0) / 2.0, (width as f32 - 1.0) / 2.0);
        let plane = height * width;
        let mut out = vec![0u8; image.len()];
        for y in 0..height {
            for x in 0..width {
                // Inverse map: output pixel -> rotated-back point -> unflipped -> uncropped.
                let (fy, fx) = (y as f32 - cy, x as f32 - cx);
                let ry = (cos * fy - sin * fx + cy).round() as isize;
                let rx = (sin * fy + cos * fx + cx).round() as isize;
                let rx = if flip { width as isize - 1 - rx } else { rx };
                let (sy, sx) = (ry + dy, rx + dx);
                if ry < 0 || rx < 0 || ry >= height as isize || rx >= width as isize {
                    continue;
                }
                if sy < 0 || sx < 0 || sy >= height as isize || sx >= width as isize {
                    continue;
                }
                let src = sy as usize * width + sx as usize;
                for c in 0..channels {
                    out[c * plane + y * width + x] = image[c * plane + src];
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn image() -> Vec<u8> {
        (0..3 * 32 * 32).map(|i| (i % 251) as u8 + 1).collect()
    }

    #[test]
    fn same_seed_same_images() {
        let aug = Augmentation::default();
        let run = |seed| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            (0..4)
                .map(|_| aug.apply(&image(), (3, 32, 32), &mut rng))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }

    #[test]
    fn identity_settings_keep_the_image() {
        let aug = Augmentation {
            pad: 0,
            flip_probability: 0.0,
            max_degrees: 0.0,
        };
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        assert_eq!(aug.apply(&image(), (3, 32, 32), &mut rng), image());
    }

    #[test]
    fn flip_only_mirrors_rows() {
        let aug = Augmentation {
            pad: 0,
            flip_probability: 1.0,
            max_degrees: 0.0,
        };
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let img = image();
        let out = aug.apply(&img, (3, 32, 32), &mut rng);
        assert_eq!(out[5 * 32], img[5 * 32 + 31]);
        assert_eq!(out[2 * 1024 + 31], img[2 * 1024]);
    }

    #[test]
    fn crop_shifts_in_zeros_and_rotation_keeps_the_centre() {
        let aug = Augmentation::default();
        let img = image();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..20 {
            let out = aug.apply(&img, (3, 32, 32), &mut rng);
            assert_eq!(out.len(), img.len());
            // Shifts are at most 4 pixels, so a central pixel always comes from the source.
            assert_ne!(out[16 * 32 + 16], 0);
        }
    }
}
