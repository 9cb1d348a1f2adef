//! Data handling that every run pays before training: IDX parsing, cutting images into the
//! paper's patch tokens, and hashing downloads (SHA-256 and MD5 in one pass). Inputs are
//! synthetic bytes of the real formats' sizes.

use std::io::Write;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use datasets::checksum::digest_file;
use datasets::vision::idx::{self, IdxData};
use datasets::vision::patch::PatchLayout;
use datasets::vision::ImageSet;

const IMAGES: usize = 10_000;
const HASHED_BYTES: usize = 64 << 20;

/// Deterministic pseudo-random bytes (xorshift), so runs compare.
fn bytes(n: usize) -> Vec<u8> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 56) as u8
        })
        .collect()
}

fn mnist_like() -> ImageSet {
    ImageSet {
        count: IMAGES,
        channels: 1,
        height: 28,
        width: 28,
        pixels: bytes(IMAGES * 28 * 28),
        labels: bytes(IMAGES).iter().map(|b| b % 10).collect(),
    }
}

fn parse_and_patch(c: &mut Criterion) {
    let set = mnist_like();
    let file = idx::encode(&IdxData::Images {
        count: set.count,
        rows: 28,
        cols: 28,
        pixels: set.pixels.clone(),
    });
    let mut group = c.benchmark_group("data");
    group.throughput(Throughput::Bytes(file.len() as u64));
    group.bench_function("idx_parse/10k_mnist_images", |b| {
        b.iter(|| idx::parse(&mut file.as_slice(), Some(file.len() as u64)).expect("valid IDX"))
    });
    let all: Vec<usize> = (0..IMAGES).collect();
    group.throughput(Throughput::Elements(IMAGES as u64));
    group.bench_function("mnist_patches/10k_images", |b| {
        b.iter(|| {
            PatchLayout::Mnist
                .batch(&set, &all, <[u8]>::to_vec)
                .expect("MNIST-shaped set")
        })
    });
    group.finish();
}

fn checksum(c: &mut Criterion) {
    let mut file = tempfile::NamedTempFile::new().expect("a temp file");
    file.write_all(&bytes(HASHED_BYTES))
        .expect("temp file written");
    file.flush().expect("temp file flushed");
    let mut group = c.benchmark_group("data");
    group
        .sample_size(10)
        .throughput(Throughput::Bytes(HASHED_BYTES as u64));
    group.bench_function("sha256_md5/64MiB_file", |b| {
        b.iter(|| digest_file(file.path()).expect("readable temp file"))
    });
    group.finish();
}

criterion_group!(benches, parse_and_patch, checksum);
criterion_main!(benches);
