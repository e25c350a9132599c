fn main() {
    std::process::exit(aegis_ingest::main_entry());
}
