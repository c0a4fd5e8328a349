//! The live lines of `cas conformance`: one per scenario as it ends, nextest-like.
//!
//! `   PASS [  0.975s] handshake::codex-ws`. An expected failure shows its code (`XFAIL … (code)`),
//! a scenario that does not apply its reason, a failure its step, message, the expected and
//! observed values as a diff, the kept workspace and the transcript. Colour is decided once
//! ([`Painter`]); the text is the same with or without it.

use console::Style;

use super::report::ScenarioResult;
use super::status::{diff_lines, Conclusion};

/// How much the live lines say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Verbosity {
    /// Only failures (and errors), then the summary.
    Quiet,
    /// A line per scenario; details for failures.
    #[default]
    Normal,
    /// Also what each passing scenario proved.
    Verbose,
}

/// When to colour: `auto` (a terminal without NO_COLOR), `always`, `never`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour when stdout is a terminal and NO_COLOR is unset.
    #[default]
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// Paints text when colour is on, and leaves it plain when it is off.
#[derive(Debug, Clone, Copy)]
pub struct Painter {
    on: bool,
}

impl Painter {
    /// A painter for `choice`, given whether stdout is a terminal.
    pub fn new(choice: ColorChoice, terminal: bool) -> Painter {
        let on = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => terminal && std::env::var_os("NO_COLOR").is_none(),
        };
        Painter { on }
    }

    /// `text` in `style` when colour is on.
    pub fn paint(&self, style: Style, text: &str) -> String {
        if self.on {
            style.force_styling(true).apply_to(text).to_string()
        } else {
            text.to_owned()
        }
    }

    /// The colour of a conclusion's label.
    pub fn conclusion(&self, conclusion: Conclusion, text: &str) -> String {
        let style = match conclusion {
            Conclusion::Pass => Style::new().green().bold(),
            Conclusion::Xfail => Style::new().cyan().bold(),
            Conclusion::Fail | Conclusion::Error => Style::new().red().bold(),
            Conclusion::NotApplicable => Style::new().yellow().bold(),
        };
        self.paint(style, text)
    }
}

/// The live text for one result at `verbosity`: its line and, when asked or failing, details.
/// `None` when quiet and the result is not bad.
pub fn render(result: &ScenarioResult, verbosity: Verbosity, paint: Painter) -> Option<String> {
    let conclusion = result.outcome;
    if verbosity == Verbosity::Quiet && !conclusion.is_bad() {
        return None;
    }
    let mut out = format!(
        "{} [{:>8.3}s] {}",
        paint.conclusion(conclusion, &format!("{:>7}", conclusion.label())),
        result.duration_ms as f64 / 1000.0,
        paint.paint(
            Style::new().bold(),
            &format!("{}::{}", result.scenario, result.target)
        ),
    );
    if result.name != result.scenario {
        out.push_str(&format!(" (part of {})", result.name));
    }
    match conclusion {
        Conclusion::Xfail => {
            let code = result.failure_code.map_or("?", |c| c.as_str());
            out.push_str(&format!(" ({code})"));
        }
        Conclusion::NotApplicable => out.push_str(&format!(" ({})", result.detail)),
        _ => {}
    }
    let verbose = verbosity == Verbosity::Verbose;
    if conclusion.is_bad() {
        failure_block(result, paint, &mut out);
    } else if verbose {
        for line in result.detail.lines() {
            out.push_str(&format!("\n{INDENT}{line}"));
        }
    }
    Some(out)
}

/// Indentation of the lines under a scenario's line.
const INDENT: &str = "          ";

/// The lines under a failing scenario's line: step and message, diff, where to look.
fn failure_block(result: &ScenarioResult, paint: Painter, out: &mut String) {
    let step = result.failed_step.as_ref();
    if let Some(step) = step {
        out.push_str(&format!("\n{INDENT}failing step: {}", step.step));
    }
    for line in result.detail.lines() {
        out.push_str(&format!("\n{INDENT}{line}"));
    }
    if let Some(step) = step {
        let lines = diff_lines(step.expected.as_ref(), step.observed.as_ref());
        if !lines.is_empty() {
            out.push_str(&format!(
                "\n{INDENT}{} {}",
                paint.paint(Style::new().red(), "- expected"),
                paint.paint(Style::new().green(), "+ observed")
            ));
        }
        for (sign, text) in lines {
            let line = format!("{sign} {text}");
            let line = match sign {
                '-' => paint.paint(Style::new().red(), &line),
                '+' => paint.paint(Style::new().green(), &line),
                _ => line,
            };
            out.push_str(&format!("\n{INDENT}{line}"));
        }
    }
    if let Some(root) = &result.temp_root {
        out.push_str(&format!("\n{INDENT}workspace: {}", root.display()));
    }
    match &result.transcript {
        None if result.temp_root.is_none() => {}
        Some(path) => out.push_str(&format!(
            "\n{INDENT}transcript: cas transcript show {}",
            path.display()
        )),
        None => out.push_str(&format!("\n{INDENT}transcript: none kept")),
    }
    if let Some(diagnostics) = &result.diagnostics {
        for line in diagnostics
            .lines()
            .filter(|l| !l.trim().is_empty())
            .take(10)
        {
            out.push_str(&format!("\n{INDENT}stderr: {line}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::FailureCode;
    use crate::scenario::TargetName;
    use crate::verdict::Status;

    fn result(outcome: Conclusion, detail: &str) -> ScenarioResult {
        ScenarioResult {
            name: "group".into(),
            scenario: "one".into(),
            mode: None,
            target: TargetName::FakeWs,
            ok: !outcome.is_bad(),
            status: Status::Pass,
            outcome,
            failure_code: Some(FailureCode::NoResponse),
            detail: detail.into(),
            duration_ms: 1500,
            temp_root: None,
            transcript: None,
            failed_step: None,
            verdict: None,
            diagnostics: None,
            not_applicable: None,
        }
    }

    const PLAIN: Painter = Painter { on: false };

    #[test]
    fn each_conclusion_has_its_line() {
        let line = |c, v| render(&result(c, "why"), v, PLAIN);
        assert_eq!(
            line(Conclusion::Pass, Verbosity::Normal).as_deref(),
            Some("   PASS [   1.500s] one::fake-ws (part of group)")
        );
        assert_eq!(
            line(Conclusion::Xfail, Verbosity::Normal).as_deref(),
            Some("  XFAIL [   1.500s] one::fake-ws (part of group) (no_response)")
        );
        assert_eq!(
            line(Conclusion::NotApplicable, Verbosity::Normal).as_deref(),
            Some("    N/A [   1.500s] one::fake-ws (part of group) (why)")
        );
        assert_eq!(line(Conclusion::Pass, Verbosity::Quiet), None);
        assert_eq!(
            line(Conclusion::Pass, Verbosity::Verbose).as_deref(),
            Some("   PASS [   1.500s] one::fake-ws (part of group)\n          why")
        );
        let error = line(Conclusion::Error, Verbosity::Quiet).unwrap_or_default();
        assert!(error.starts_with("  ERROR [") && error.contains("\n          why"));
        assert!(
            !error.contains("transcript:"),
            "no run, no transcript line: {error}"
        );
        let mut failed = result(Conclusion::Fail, "why");
        failed.temp_root = Some("/w".into());
        let text = render(&failed, Verbosity::Quiet, PLAIN).unwrap_or_default();
        assert!(
            text.contains("workspace: /w\n          transcript: none kept"),
            "{text}"
        );
    }

    #[test]
    fn colour_only_when_on() {
        let painted = Painter { on: true }.conclusion(Conclusion::Fail, "FAIL");
        assert!(painted.contains("\u{1b}[") && painted.contains("FAIL"));
        assert_eq!(PLAIN.conclusion(Conclusion::Fail, "FAIL"), "FAIL");
        assert!(Painter::new(ColorChoice::Always, false).on);
        assert!(!Painter::new(ColorChoice::Never, true).on);
        assert!(!Painter::new(ColorChoice::Auto, false).on);
    }
}
