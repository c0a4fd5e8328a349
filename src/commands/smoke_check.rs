pub async fn run(_a: crate::cli::SmokeCheckArgs) -> std::process::ExitCode {
    std::process::ExitCode::from(2)
}
