//! The in-prompt directives the mock model follows when no scripted entry applies.
//!
//! The reply is chosen by a directive in the latest user text: `[[say:TEXT]]` answers TEXT,
//! `[[fail]]` answers HTTP 500, `[[stall:SECS]]` waits SECS before answering; anything else
//! answers `mock reply #N`, or `OK` to a text ending `Reply with OK only.` (the bootstrap turn
//! that materializes a review parent). A review request (its first developer message starts
//! `# Review guidelines:`) is answered with the review JSON of `fixtures/review/mock-review.json`
//! (compiled in; `${CWD}` becomes the cwd of the request's environment context), after the
//! stall of a `[[stall:SECS]]` directive (sent whole, not streamed: codex's review mode loses
//! a streamed review); `[[say:TEXT]]` answers TEXT instead (not review JSON)
//! and `[[fail]]` answers HTTP 500.

use serde_json::Value;
use std::time::Duration;
use wiremock::ResponseTemplate;

use super::sse::Reply;

/// A prompt that ends with this is answered `OK` (the review lane's bootstrap turn).
const OK_ONLY: &str = "Reply with OK only.";

/// The review JSON the mock answers to review requests.
pub const REVIEW_ANSWER: &str = include_str!("../../../fixtures/review/mock-review.json");

/// The answer to request `n` (1-based) with `body`, by the directive in its latest user text.
pub(super) fn reply(n: usize, body: &Value) -> ResponseTemplate {
    let text = latest_user_text(body).unwrap_or_default();
    let directive = Directive::parse(&text);
    let review = is_review_request(body);
    let default = default_answer(n, body, &text, review);
    let answer = |text: &str| {
        if review {
            Reply::whole_message(n, text)
        } else {
            Reply::message(n, text)
        }
    };
    match directive {
        Directive::Fail => ResponseTemplate::new(500).set_body_string("mock failure"),
        Directive::Say(said) => Reply::message(n, &said).template(n),
        Directive::Stall(secs) => {
            let text = if review {
                default
            } else {
                format!("stalled {secs}s")
            };
            answer(&text)
                .template(n)
                .set_delay(Duration::from_secs(secs))
        }
        Directive::None => answer(&default).template(n),
    }
}

/// The answer to request `n` when no directive applies: the review JSON to a review, `OK` to
/// a text ending `Reply with OK only.`, else `mock reply #N`.
fn default_answer(n: usize, body: &Value, text: &str, review: bool) -> String {
    if review {
        let cwd = environment_cwd(body).unwrap_or_default();
        REVIEW_ANSWER.trim().replace("${CWD}", &cwd)
    } else if text.trim_end().ends_with(OK_ONLY) {
        "OK".to_owned()
    } else {
        format!("mock reply #{n}")
    }
}

/// What the latest user text asks the mock to do.
#[derive(Debug, PartialEq)]
enum Directive {
    Say(String),
    Fail,
    Stall(u64),
    None,
}

impl Directive {
    fn parse(text: &str) -> Directive {
        let Some(start) = text.find("[[") else {
            return Directive::None;
        };
        let Some(len) = text[start..].find("]]") else {
            return Directive::None;
        };
        let inner = &text[start + 2..start + len];
        match inner.split_once(':') {
            Some(("say", said)) => Directive::Say(said.to_owned()),
            Some(("stall", secs)) => secs
                .trim()
                .parse()
                .map(Directive::Stall)
                .unwrap_or(Directive::None),
            None if inner == "fail" => Directive::Fail,
            _ => Directive::None,
        }
    }
}

/// Whether the request is a review: its first developer message starts `# Review guidelines:`,
/// or (codex 0.118.x) its `instructions` do.
fn is_review_request(body: &Value) -> bool {
    let guidelines = |t: &str| t.trim_start().starts_with("# Review guidelines:");
    if body
        .get("instructions")
        .and_then(Value::as_str)
        .is_some_and(guidelines)
    {
        return true;
    }
    let Some(input) = body.get("input").and_then(Value::as_array) else {
        return false;
    };
    input
        .iter()
        .find(|item| item.get("role").and_then(Value::as_str) == Some("developer"))
        .and_then(|m| m.get("content")?.as_array()?.first()?.get("text")?.as_str())
        .is_some_and(guidelines)
}

/// The `<cwd>` of the request's environment context, if any.
fn environment_cwd(body: &Value) -> Option<String> {
    let input = body.get("input")?.as_array()?;
    input
        .iter()
        .filter_map(|item| item.get("content")?.as_array())
        .flatten()
        .filter_map(|part| part.get("text")?.as_str())
        .find_map(|text| {
            let start = text.find("<cwd>")? + "<cwd>".len();
            let len = text[start..].find("</cwd>")?;
            Some(text[start..start + len].trim().to_owned())
        })
}

/// The text of the last `user` message in a Responses request body.
fn latest_user_text(body: &Value) -> Option<String> {
    let input = body.get("input")?.as_array()?;
    let message = input
        .iter()
        .rev()
        .find(|item| item.get("role").and_then(Value::as_str) == Some("user"))?;
    let parts = message.get("content")?.as_array()?;
    let text: Vec<&str> = parts
        .iter()
        .filter_map(|p| p.get("text").and_then(Value::as_str))
        .collect();
    Some(text.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_directives() {
        assert_eq!(
            Directive::parse("hi [[say:hello there]]"),
            Directive::Say("hello there".into())
        );
        assert_eq!(Directive::parse("[[fail]]"), Directive::Fail);
        assert_eq!(Directive::parse("[[stall:3]]"), Directive::Stall(3));
        assert_eq!(Directive::parse("[[stall:x]]"), Directive::None);
        assert_eq!(Directive::parse("plain"), Directive::None);
    }

    #[test]
    fn answers_review_requests_with_the_fixture_json() {
        let body = json!({"input": [
            {"role": "developer", "content": [{"type": "input_text", "text": "# Review guidelines:\n…"}]},
            {"role": "user", "content": [{"type": "input_text", "text": "<environment_context>\n  <cwd>/r</cwd>\n</environment_context>"}]},
            {"role": "user", "content": [{"type": "input_text", "text": "review it"}]}]});
        assert!(is_review_request(&body));
        let old_style = json!({"instructions": "# Review guidelines:\nbe kind", "input": []});
        assert!(
            is_review_request(&old_style),
            "0.118.x sends the guidelines as instructions"
        );
        assert_eq!(environment_cwd(&body).as_deref(), Some("/r"));
        let plain = json!({"input": [{"role": "developer", "content": [{"type": "input_text", "text": "You are Codex"}]}]});
        assert!(!is_review_request(&plain));
        let answer: Value = serde_json::from_str(REVIEW_ANSWER).unwrap();
        assert_eq!(answer["findings"][0]["priority"], 1);
    }

    #[test]
    fn answers_ok_to_a_bootstrap_turn_and_a_numbered_reply_otherwise() {
        let body = json!({"input": []});
        // review::materialize::BOOTSTRAP_PROMPT (named by its text: launch does not use review).
        let bootstrap =
            "Internal bootstrap for detached review parent materialization. Reply with OK only.";
        assert_eq!(default_answer(1, &body, bootstrap, false), "OK");
        assert_eq!(default_answer(2, &body, "hello", false), "mock reply #2");
    }

    #[test]
    fn finds_the_latest_user_text() {
        let body = json!({"input": [
            {"role": "user", "content": [{"type": "input_text", "text": "first"}]},
            {"role": "developer", "content": [{"type": "input_text", "text": "x"}]},
            {"role": "user", "content": [{"type": "input_text", "text": "second"}]}]});
        assert_eq!(latest_user_text(&body).as_deref(), Some("second"));
    }
}
