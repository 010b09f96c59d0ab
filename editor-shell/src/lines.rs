//! The stdin line protocol: one command per line in, one answer per line out (`ok <json>` or
//! `error <message>`), with live edit's `event <json>` lines between answers. A reader
//! thread sends each line to the loop's [`Inbox`]; the loop parses it here and prints the
//! answer, so answers and events come out in the order they happened.

use std::io::BufRead;

use playground_api::serde_json::{self, Value};

use crate::inbox::{Answer, Controller, Inbox, Json, Message, Op};
use crate::ops::HELP;
use crate::workspace::print;

/// Reads `input` line by line on a thread, into `inbox`, until it ends or the loop stops.
pub(crate) fn start(input: impl BufRead + Send + 'static, inbox: Inbox) {
    std::thread::spawn(move || {
        for line in input.lines() {
            let Ok(line) = line else { break };
            if inbox.send(Message::Line(line)).is_err() {
                return;
            }
        }
        let _ = inbox.send(Message::Ended { controller: Controller::Lines, why: "stdin closed".to_owned() });
    });
}

/// Prints an answer as the protocol's one line.
pub(crate) fn print_answer(answer: Answer) {
    match answer {
        Ok(Json(text)) => print(&format!("ok {text}\n")),
        Err(message) => print(&format!("error {}\n", message.replace('\n', " "))),
    }
}

/// A line of the stdin protocol, parsed.
#[derive(Debug, PartialEq)]
pub(crate) enum Line {
    Empty,
    Quit,
    Restart,
    Op(Op),
}

/// Parses one line of the stdin protocol.
pub(crate) fn parse_line(line: &str) -> Result<Line, String> {
    let line = line.trim();
    let (command, rest) = line.split_once(' ').unwrap_or((line, ""));
    let rest = rest.trim();
    let id = || rest.to_owned();
    Ok(Line::Op(match command {
        "" => return Ok(Line::Empty),
        "quit" | "exit" => return Ok(Line::Quit),
        "restart" => return Ok(Line::Restart),
        "help" => Op::Help,
        "modules" => Op::Modules,
        "history" => Op::History,
        "build" => Op::BuildStatus,
        "state" => Op::State { id: id() },
        "inspect" => Op::Inspect { id: id() },
        "reload" => Op::Reload { id: id(), build: false },
        "rebuild" => Op::Reload { id: id(), build: true },
        "capture" => Op::Capture { path: Some(rest).filter(|p| !p.is_empty()).map(str::to_owned) },
        "call" => {
            let mut parts = rest.splitn(3, ' ');
            let (Some(id), Some(method)) = (parts.next(), parts.next()) else {
                return Err("usage: call <id> <method> [json args]".to_owned());
            };
            let args = match parts.next().map(str::trim).filter(|a| !a.is_empty()) {
                None => None,
                Some(text) => {
                    Some(serde_json::from_str::<Value>(text).map_err(|e| format!("the arguments are not JSON: {e}"))?)
                }
            };
            Op::Call { id: id.to_owned(), method: method.to_owned(), args }
        }
        other => return Err(format!("unknown command `{other}`; {HELP}")),
    }))
}

#[cfg(test)]
mod tests {
    use super::{Line, parse_line};
    use crate::inbox::Op;
    use playground_api::serde_json::json;

    #[test]
    fn parses_the_line_protocol() {
        assert_eq!(parse_line("  "), Ok(Line::Empty));
        assert_eq!(parse_line("quit"), Ok(Line::Quit));
        assert_eq!(parse_line("reload core/ecs"), Ok(Line::Op(Op::Reload { id: "core/ecs".into(), build: false })));
        assert_eq!(parse_line("rebuild core/ecs"), Ok(Line::Op(Op::Reload { id: "core/ecs".into(), build: true })));
        assert_eq!(
            parse_line(r#"call systems/ecs spawn {"x": 1}"#),
            Ok(Line::Op(Op::Call { id: "systems/ecs".into(), method: "spawn".into(), args: Some(json!({"x": 1})) }))
        );
        assert_eq!(
            parse_line("call systems/ecs count"),
            Ok(Line::Op(Op::Call { id: "systems/ecs".into(), method: "count".into(), args: None }))
        );
        assert!(parse_line("call systems/ecs").is_err_and(|e| e.starts_with("usage")));
        assert!(parse_line("call a b {nope").is_err_and(|e| e.contains("the arguments are not JSON")));
        assert_eq!(parse_line("capture /tmp/v.png"), Ok(Line::Op(Op::Capture { path: Some("/tmp/v.png".into()) })));
        assert!(parse_line("teleport").is_err_and(|e| e.contains("unknown command `teleport`")));
    }
}
