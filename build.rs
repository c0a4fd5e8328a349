//! Rebuilds cas when a shipped scenario or fixture changes (they are compiled into the binary).

fn main() {
    for dir in ["scenarios", "fixtures/hooks", "fixtures/st"] {
        println!("cargo:rerun-if-changed={dir}");
    }
}
