fn main() {
    // The binary re-invokes itself to read PDFs in a child process (time and memory
    // limits; a hostile PDF can abort its reader): that child returns from here.
    aegis_ingest::read::pdf::worker_main_if_requested();
    std::process::exit(aegis_ingest::main_entry());
}
