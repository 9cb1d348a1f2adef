//! The restricted reader of CIFAR-10's Python batches against pickles Python wrote
//! (fixtures/cifar-py/make_fixtures.py: protocols 2 to 5 from Python 3 with numpy 2, and a
//! batch assembled as Python 2's cPickle wrote the published ones), hostile pickles that
//! name other globals, hand-made misuses of REDUCE and BUILD, and damaged files.

use std::path::{Path, PathBuf};

use datasets::vision::cifar::{self, BatchFormat, Batches, Split};
use datasets::vision::pickle::{parse_batch, PickleError};
use datasets::vision::ImageSet;
use proptest::prelude::*;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/cifar-py")
        .join(name)
}

fn bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap()
}

/// The fixture's images as the generator also wrote them: a CIFAR-10 binary batch.
fn expected() -> ImageSet {
    cifar::read(&fixture("expected.bin")).unwrap()
}

const READABLE: [&str; 5] = [
    "protocol2.pickle",
    "protocol3.pickle",
    "protocol4.pickle",
    "protocol5.pickle",
    "py2-protocol2.pickle",
];

#[test]
fn every_protocol_python_writes_reads_as_the_same_batch() {
    let expected = expected();
    assert_eq!(expected.count, 10);
    for name in READABLE {
        let set = parse_batch(&bytes(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(set, expected, "{name}");
    }
}

#[test]
fn the_py2_fixture_has_the_published_files_shape() {
    // What distinguishes the published batches: py2 str (SHORT_BINSTRING 'U' / BINSTRING
    // 'T', where Python 3 writes BINUNICODE 'X') and numpy 1's module path in a GLOBAL.
    let py2 = bytes("py2-protocol2.pickle");
    assert!(py2.starts_with(b"\x80\x02}q\x01(U\x04data"));
    let global = b"cnumpy.core.multiarray\n_reconstruct\n";
    assert!(py2.windows(global.len()).any(|w| w == global));
    let binstring = [b'T', 0x00, 0x78, 0x00, 0x00]; // 30720 = 0x7800 bytes of pixels
    assert!(py2.windows(5).any(|w| w == binstring));
    assert!(bytes("protocol2.pickle").starts_with(b"\x80\x02}q\x00(X\x0b\x00\x00\x00batch_label"));
}

#[test]
fn hostile_globals_are_refused_by_name() {
    for (name, global) in [
        ("os-system.pickle", "os.system"),
        ("posix-system.pickle", "posix.system"),
        ("builtins-eval.pickle", "builtins.eval"),
        ("numpy-scalar.pickle", "numpy._core.multiarray.scalar"),
    ] {
        let err = parse_batch(&bytes(name)).unwrap_err();
        assert!(
            matches!(&err, PickleError::Global { global: g, .. } if g == global),
            "{name}: {err:?}"
        );
        let message = err.to_string();
        assert!(
            message.starts_with(&format!("refusing to call {global}:")),
            "{name}: {message}"
        );
    }
}

/// A protocol-2 pickle of `body` followed by STOP.
fn pickle(body: &[u8]) -> Vec<u8> {
    [b"\x80\x02".as_slice(), body, b"."].concat()
}

#[test]
fn reduce_and_build_run_only_numpy_constructors() {
    let cases: [(&[u8], &str); 5] = [
        // REDUCE on a tuple (not a callable at all).
        (b")))R", "refusing to call a tuple"),
        // numpy.ndarray is only _reconstruct's argument, never called itself.
        (b"cnumpy\nndarray\n)R", "refusing to call numpy.ndarray"),
        // BUILD on a dict would set attributes of arbitrary objects in Python.
        (b"}}b", "refusing to set the state of a dict"),
        // A dtype state numpy never writes.
        (
            b"cnumpy\ndtype\nU\x02u1K\x00K\x01\x87R)b",
            "dtype state is not",
        ),
        // A REDUCE of _reconstruct whose first argument is not numpy.ndarray.
        (
            b"cnumpy.core.multiarray\n_reconstruct\n)K\x00\x85U\x01b\x87R",
            "not as numpy pickles it",
        ),
    ];
    for (body, needle) in cases {
        let err = parse_batch(&pickle(body)).unwrap_err().to_string();
        assert!(err.contains(needle), "{needle:?} not in {err:?}");
    }
}

#[test]
fn opcodes_outside_the_list_are_refused() {
    // INST (`i`), OBJ (`o`), NEWOBJ (0x81), EXT1 (0x82), PERSID (`P`), BINPERSID (`Q`),
    // text STRING (`S`) and FLOAT (`F`): none is in a CIFAR-10 batch.
    for opcode in [b'i', b'o', 0x81, 0x82, b'P', b'Q', b'S', b'F'] {
        let err = parse_batch(&pickle(&[opcode])).unwrap_err();
        assert_eq!(
            err,
            PickleError::Opcode { opcode, offset: 2 },
            "opcode {opcode:#x}"
        );
    }
}

#[test]
fn malformed_pickles_say_what_is_wrong() {
    let cases: [(&[u8], &str); 8] = [
        (b"\x80\x01}.", "not a pickle of protocol 2 to 5"),
        (b"\x80\x02}", "truncated"),
        (b"\x80\x02t.", "no MARK"),
        (b"\x80\x02(K\x01R.", "pops more values"),
        (b"\x80\x02h\x07.", "memo entry 7"),
        (b"\x80\x02]q\x00h\x00.", "shared lists"),
        (b"\x80\x02}.junk", "follow the STOP"),
        (b"\x80\x02T\xff\xff\xff\xff.", "negative length"),
    ];
    for (input, needle) in cases {
        let err = parse_batch(input).unwrap_err().to_string();
        assert!(err.contains(needle), "{needle:?} not in {err:?}");
    }
}

#[test]
fn a_pickle_that_is_no_batch_is_named_so() {
    let cases: [(&[u8], &str); 4] = [
        (b"]", "not a dict"),
        (b"}", "no 'data' key"),
        (b"}(U\x04dataK\x01u", "'data' is an int"),
        // 40 nested tuples, more than MAX_DEPTH: refused, never a deep recursion.
        (&[b"K\x00".as_slice(), &[0x85; 40]].concat(), "nest deeper"),
    ];
    for (body, needle) in cases {
        let err = parse_batch(&pickle(body)).unwrap_err().to_string();
        assert!(err.contains(needle), "{needle:?} not in {err:?}");
    }
}

#[test]
fn labels_must_match_the_images_and_lie_in_range() {
    let good = bytes("protocol2.pickle");
    // Protocol 2 writes the labels (ending `K\x06 e`: BININT1 6, APPENDS) before the
    // pixels: change the last label to 10, then drop it.
    let at = good.windows(3).position(|w| w == b"K\x06e").unwrap();
    let mut bad_label = good.clone();
    bad_label[at + 1] = 10;
    let err = parse_batch(&bad_label).unwrap_err().to_string();
    assert!(err.contains("label 9 is 10"), "{err}");
    let mut short = good.clone();
    short.drain(at..at + 2);
    let err = parse_batch(&short).unwrap_err().to_string();
    assert!(err.contains("10 images but 9 labels"), "{err}");
}

#[test]
fn every_truncation_is_an_error() {
    for name in [
        "py2-protocol2.pickle",
        "protocol2.pickle",
        "protocol5.pickle",
    ] {
        let full = bytes(name);
        for cut in 0..full.len() {
            assert!(
                parse_batch(&full[..cut]).is_err(),
                "{name} cut at {cut} of {} parsed",
                full.len()
            );
        }
    }
}

#[test]
fn batches_folders_read_in_either_format() {
    let tmp = tempfile::tempdir().unwrap();
    let python = tmp.path().join(BatchFormat::Python.folder());
    let binary = tmp.path().join(BatchFormat::Binary.folder());
    std::fs::create_dir_all(&python).unwrap();
    std::fs::create_dir_all(&binary).unwrap();
    for (format, dir) in [
        (BatchFormat::Python, &python),
        (BatchFormat::Binary, &binary),
    ] {
        let source = match format {
            BatchFormat::Python => "protocol4.pickle",
            BatchFormat::Binary => "expected.bin",
        };
        for batch in format.all_batches() {
            std::fs::copy(fixture(source), dir.join(batch)).unwrap();
        }
    }
    let read = |format, split| {
        Batches {
            dir: tmp.path().join(BatchFormat::folder(format)),
            format,
        }
        .read(split)
        .unwrap()
    };
    for split in [Split::Train, Split::Test] {
        assert_eq!(
            read(BatchFormat::Python, split),
            read(BatchFormat::Binary, split)
        );
    }
    assert_eq!(read(BatchFormat::Python, Split::Train).count, 50);
    std::fs::write(python.join("test_batch"), b"\x80\x02cos\nsystem\n.").unwrap();
    let err = Batches {
        dir: python.clone(),
        format: BatchFormat::Python,
    }
    .read(Split::Test)
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("test_batch") && err.contains("refusing to call os.system"),
        "{err}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn damaged_batches_never_panic(
        source in 0..READABLE.len(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut data = bytes(READABLE[source]);
        for (at, value) in edits {
            let i = at.index(data.len());
            data[i] = value;
        }
        let _ = parse_batch(&data);
    }

    #[test]
    fn arbitrary_bytes_after_the_header_never_panic(
        body in proptest::collection::vec(any::<u8>(), 0..512),
    ) {
        let _ = parse_batch(&pickle(&body));
    }
}
