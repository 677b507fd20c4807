//! Build options of the `gitapps-hook` binary.
//!
//! `GITAPPS_HOOK_NO_PIE=1` links it as a position-dependent executable.
//! git starts the binary up to three times per push (pre-receive, then the
//! transaction hook for `prepared` and `committed`), and a position-
//! independent one spends about 1.6 ms of each start on relocating itself
//! (161 pages of `.data.rel.ro` copied on write). Without PIE that is gone,
//! and so is address-space randomisation of the binary's own code: a
//! hardening the default keeps, for a process that reads what anyone on
//! the network sends. See docs/decisions.md, "The hook's fixed cost".

fn main() {
    println!("cargo:rerun-if-env-changed=GITAPPS_HOOK_NO_PIE");
    if std::env::var_os("GITAPPS_HOOK_NO_PIE").is_some_and(|v| v == "1") {
        println!("cargo:rustc-link-arg-bin=gitapps-hook=-no-pie");
    }
}
