//! Parse throughput of the IDX and CIFAR-10 readers on synthetic full-size files:
//! `cargo run --release -p datasets --example parse_throughput`.

use std::time::Instant;

use datasets::vision::{cifar, idx};

fn main() {
    let dir = std::env::temp_dir().join(format!("fpt-throughput-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let pixels: Vec<u8> = (0..60_000 * 784).map(|i| (i % 251) as u8).collect();
    let idx_path = dir.join("train-images-idx3-ubyte");
    let images = idx::IdxData::Images {
        count: 60_000,
        rows: 28,
        cols: 28,
        pixels,
    };
    std::fs::write(&idx_path, idx::encode(&images)).expect("write idx");
    let mut batch = Vec::with_capacity(10_000 * cifar::RECORD_BYTES);
    for i in 0..10_000 {
        batch.push((i % 10) as u8);
        batch.extend((0..cifar::IMAGE_BYTES).map(|j| ((i + j) % 256) as u8));
    }
    let cifar_path = dir.join("data_batch_1.bin");
    std::fs::write(&cifar_path, &batch).expect("write cifar");

    for (name, path) in [("IDX", &idx_path), ("CIFAR-10", &cifar_path)] {
        let bytes = std::fs::metadata(path).expect("size").len() as f64;
        let runs = 5;
        let start = Instant::now();
        for _ in 0..runs {
            match name {
                "IDX" => drop(idx::read(path).expect("parse idx")),
                _ => drop(cifar::read(path).expect("parse cifar")),
            }
        }
        let secs = start.elapsed().as_secs_f64() / runs as f64;
        println!(
            "{name}: {:.1} MB in {:.3} s = {:.0} MB/s",
            bytes / 1e6,
            secs,
            bytes / 1e6 / secs
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
