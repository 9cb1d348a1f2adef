//! Data for the FPT reproduction: where it comes from, how it is checked and parsed, and
//! the synthetic tasks. Everything here produces plain arrays (`Vec<f32>`, `Vec<i64>` with
//! shapes); turning them into tensors is the harness's job, so this crate never links libtorch.

pub mod synthetic;
