//! `cas completions bash|zsh|fish`: the shell completion script, on stdout.
//!
//! Install e.g. with `cas completions bash > ~/.local/share/bash-completion/completions/cas`,
//! `cas completions zsh > ~/.zfunc/_cas`, or `cas completions fish > ~/.config/fish/completions/cas.fish`.

use std::process::ExitCode;

/// Flags of `cas completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to write completions for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// The shells cas writes completions for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Shell {
    /// GNU bash.
    Bash,
    /// Z shell.
    Zsh,
    /// The friendly interactive shell.
    Fish,
}

/// Writes the completion script of `command` for `shell` to `out`.
pub fn generate(shell: Shell, command: &mut clap::Command, out: &mut dyn std::io::Write) {
    use clap_complete::{generate as write_script, shells};
    match shell {
        Shell::Bash => write_script(shells::Bash, command, "cas", out),
        Shell::Zsh => write_script(shells::Zsh, command, "cas", out),
        Shell::Fish => write_script(shells::Fish, command, "cas", out),
    }
}

/// Runs the command for `command`, cas's whole command line.
pub fn run(args: CompletionsArgs, mut command: clap::Command) -> ExitCode {
    let mut script = Vec::new();
    generate(args.shell, &mut command, &mut script);
    // Through a buffer: the generator panics on a closed pipe (`| head`); this does not.
    let _ = std::io::Write::write_all(&mut std::io::stdout(), &script);
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shell_gets_a_script_naming_the_subcommands() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            let mut command = clap::Command::new("cas")
                .subcommand(clap::Command::new("conformance"))
                .subcommand(
                    clap::Command::new("transcript").subcommand(clap::Command::new("show")),
                );
            let mut out = Vec::new();
            generate(shell, &mut command, &mut out);
            let script = String::from_utf8(out).unwrap();
            for word in ["conformance", "transcript"] {
                assert!(script.contains(word), "{shell:?} lacks {word}");
            }
        }
    }
}
