//! The line protocol's parsing, apart from its thread and its printing: a line read within
//! bounds ([`next_line`]) and a command parsed from it ([`parse_line`]). It knows the inbox's
//! vocabulary and nothing else of the shell, so the fuzz targets compile this file as it is
//! (`fuzz/src/lib.rs`).

use std::io::BufRead;

use playground_api::serde_json::{self, Value};

use crate::inbox::Op;
use crate::ops::HELP;

/// The longest line taken: a `call`'s JSON arguments fit many times over. A longer one is
/// refused, and skipped to its end without being kept, so no writer makes the editor hold
/// an unbounded line.
pub(crate) const MAX_LINE: usize = 1 << 20;

/// The next line of `input` without its `\n` (or `\r\n`), or why it is refused; `None` at
/// the end of the input. Reads at most [`MAX_LINE`] bytes of a line into memory.
pub(crate) fn next_line(input: &mut impl BufRead) -> std::io::Result<Option<Result<String, String>>> {
    let mut line = Vec::new();
    let mut length = 0usize;
    loop {
        let buffer = match input.fill_buf() {
            Ok(buffer) => buffer,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buffer.is_empty() {
            // The end of the input; a last line without its newline is still a line.
            if length == 0 {
                return Ok(None);
            }
            break;
        }
        let (taken, newline) = match buffer.iter().position(|&b| b == b'\n') {
            Some(at) => (at, true),
            None => (buffer.len(), false),
        };
        if length + taken <= MAX_LINE {
            line.extend_from_slice(&buffer[..taken]);
        }
        length = length.saturating_add(taken);
        input.consume(taken + usize::from(newline));
        if newline {
            break;
        }
    }
    if length > MAX_LINE {
        return Ok(Some(Err(format!("a line of {length} bytes is over the limit of {MAX_LINE}; it was not read"))));
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    if let Some(at) = line.iter().position(|&b| b == 0) {
        return Ok(Some(Err(format!("the line holds a NUL byte (byte {at}); commands are text"))));
    }
    Ok(Some(String::from_utf8(line).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        format!("the line is not UTF-8 (byte {at} is {:#04x}); commands are text", e.as_bytes()[at])
    })))
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
    use super::{Line, MAX_LINE, next_line, parse_line};
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

    /// Every line of `bytes`, read through a small buffer so that lines span many reads.
    fn lines_of(bytes: &[u8]) -> Vec<Result<String, String>> {
        let mut input = std::io::BufReader::with_capacity(7, bytes);
        std::iter::from_fn(|| next_line(&mut input).expect("reading memory")).collect()
    }

    #[test]
    fn bad_lines_are_refused_one_by_one_and_the_next_line_is_read() {
        let mut input = b"modules\r\n\ncall a\0b\n".to_vec();
        input.extend_from_slice(b"state \xff\xfe\n");
        input.extend(std::iter::repeat_n(b'x', MAX_LINE + 1));
        input.extend_from_slice(b"\nquit");
        let lines = lines_of(&input);
        assert_eq!(lines[0], Ok("modules".to_owned()));
        assert_eq!(lines[1], Ok(String::new()));
        assert!(lines[2].as_ref().is_err_and(|e| e.contains("NUL byte (byte 6)")), "{:?}", lines[2]);
        assert!(lines[3].as_ref().is_err_and(|e| e.contains("not UTF-8 (byte 6 is 0xff)")), "{:?}", lines[3]);
        let long = lines[4].as_ref().expect_err("too long");
        assert!(long.contains(&format!("a line of {} bytes is over the limit", MAX_LINE + 1)), "{long}");
        assert_eq!(lines[5], Ok("quit".to_owned()), "a last line without its newline");
        assert_eq!(lines.len(), 6);
        assert_eq!(lines_of(&vec![b'y'; MAX_LINE]), vec![Ok("y".repeat(MAX_LINE))], "the limit itself is taken");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

        #[test]
        fn any_bytes_are_read_as_lines_or_refused_never_a_panic(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512),
        ) {
            let lines = lines_of(&bytes);
            // One line per newline, and one more for text after the last.
            let newlines = bytes.iter().filter(|&&b| b == b'\n').count();
            let tail = usize::from(!bytes.is_empty() && bytes.last() != Some(&b'\n'));
            proptest::prop_assert_eq!(lines.len(), newlines + tail);
            for line in lines.into_iter().flatten() {
                let _ = parse_line(&line);
            }
        }

        #[test]
        fn a_call_with_json_arguments_parses_to_what_was_written(
            id in "[a-z]{1,8}/[a-z][a-z0-9-]{0,8}",
            method in "[a-z_]{1,12}",
            number in proptest::prelude::any::<i64>(),
            text in "[^\n\r\\\"]{0,20}",
        ) {
            let args = json!({ "n": number, "s": text });
            let line = format!("call {id} {method} {args}");
            let parsed = parse_line(&line);
            proptest::prop_assert_eq!(parsed, Ok(Line::Op(Op::Call { id, method, args: Some(args) })));
        }
    }
}
