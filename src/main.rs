fn main() {
    std::process::exit(lkm::cli::run());
}
