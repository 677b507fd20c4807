fn main() {
    eprintln!("git-mr: not implemented yet");
    std::process::exit(2);
}
