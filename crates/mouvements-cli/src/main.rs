//! `mouvements-gen`: see the library, [`mouvements_cli::run`].

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(mouvements_cli::run(std::env::args_os()))
}
