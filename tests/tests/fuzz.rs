//! Fuzz targets, run as ordinary tests (issue 9): every seed-corpus entry,
//! then a fixed budget of mutated inputs, each checked for panics and held
//! to a memory bound (counted by the allocator below) and a time tripwire.
//! `GITAPPS_FUZZ_ITERATIONS=N` runs more, `GITAPPS_FUZZ_SEED=S` others
//! (see `gitapps_tests::fuzz`).

#[global_allocator]
static ALLOC: gitapps_tests::fuzz::CountingAlloc = gitapps_tests::fuzz::CountingAlloc;

#[path = "fuzz/key.rs"]
mod key;

#[path = "fuzz/certificate.rs"]
mod certificate;
#[path = "fuzz/key_file.rs"]
mod key_file;
#[path = "fuzz/policy.rs"]
mod policy;
#[path = "fuzz/tree.rs"]
mod tree;
