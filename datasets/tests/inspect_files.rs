//! `inspect` recognises each format by content and explains what is wrong with bad files.

use std::fs;
use std::path::Path;

use datasets::inspect::{inspect, InspectError};
use datasets::vision::idx::{encode, IdxData};

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut enc, bytes).unwrap();
    enc.finish().unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn recognises_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let images = encode(&IdxData::Images {
        count: 2,
        rows: 28,
        cols: 28,
        pixels: vec![0; 2 * 784],
    });
    let mut cifar = vec![4u8];
    cifar.extend(vec![0u8; 3072]);
    let cases = [
        (
            write(d, "a", &gz(&images)),
            "MNIST IDX images",
            "2 images of 28x28 (gzipped)",
        ),
        (
            write(d, "b", &encode(&IdxData::Labels(vec![1, 1, 2]))),
            "MNIST IDX labels",
            "3 labels",
        ),
        (
            write(d, "c", &cifar),
            "CIFAR-10 binary batch",
            "1 images of 3x32x32",
        ),
        (
            write(d, "d", b"Source\tTarget\n( ( [SM 1 ) 2 ] )\t3\n"),
            "ListOps TSV",
            "1 examples",
        ),
        (
            write(
                d,
                "e",
                br#"[{"id": "x", "primary": "MKV", "fold_label": 3}]"#,
            ),
            "TAPE remote homology JSON",
            "1 proteins",
        ),
    ];
    for (path, kind, needle) in cases {
        let got = inspect(&path).unwrap();
        assert_eq!(got.kind, kind);
        assert!(
            got.summary.contains(needle),
            "{needle:?} not in {:?}",
            got.summary
        );
    }
}

#[test]
fn explains_bad_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut lying = encode(&IdxData::Images {
        count: 1,
        rows: 28,
        cols: 28,
        pixels: vec![0; 784],
    });
    lying[4..8].copy_from_slice(&(1u32 << 31).to_be_bytes());
    let cases = [
        (
            write(d, "a", &lying),
            "looks like an MNIST IDX file",
            "truncated",
        ),
        (
            write(d, "b", b"Source\tTarget\n[SM 1 ]\t12\n"),
            "looks like a ListOps TSV",
            "line 2: label",
        ),
        (
            write(d, "c", br#"[{"primary": "MK1", "fold_label": 3}]"#),
            "TAPE",
            "unknown residue '1'",
        ),
    ];
    for (path, kind, needle) in cases {
        let err = inspect(&path).unwrap_err().to_string();
        assert!(err.contains(kind) && err.contains(needle), "{err}");
    }
    let err = inspect(&write(d, "z", b"hello world")).unwrap_err();
    assert!(matches!(err, InspectError::Unrecognised { .. }), "{err}");
    assert!(err.to_string().contains("68 65 6c"), "{err}");
    assert!(matches!(
        inspect(&d.join("missing")),
        Err(InspectError::Io { .. })
    ));
}
