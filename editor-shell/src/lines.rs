//! The stdin line protocol: one command per line in, one answer per line out (`ok <json>` or
//! `error <message>`), with live edit's `event <json>` lines between answers. A reader
//! thread sends each line to the loop's [`Inbox`]; the loop parses it here and prints the
//! answer, so answers and events come out in the order they happened.

mod parse;

use std::io::BufRead;

use parse::next_line;
pub(crate) use parse::{Line, parse_line};

use crate::inbox::{Answer, Controller, Inbox, Json, Message};
use crate::workspace::print;

/// Reads `input` line by line on a thread, into `inbox`, until it ends or the loop stops. A
/// line that cannot be a command (too long, a NUL byte, not UTF-8) is sent as its refusal,
/// answered like any bad command, and the lines after it are read as usual.
pub(crate) fn start(mut input: impl BufRead + Send + 'static, inbox: Inbox) {
    std::thread::spawn(move || {
        let why = loop {
            match next_line(&mut input) {
                Ok(Some(line)) => {
                    if inbox.send(Message::Line(line)).is_err() {
                        return;
                    }
                }
                Ok(None) => break "stdin closed".to_owned(),
                Err(e) => break format!("cannot read stdin: {e}"),
            }
        };
        let _ = inbox.send(Message::Ended { controller: Controller::Lines, why });
    });
}

/// Prints an answer as the protocol's one line.
pub(crate) fn print_answer(answer: Answer) {
    match answer {
        Ok(Json(text)) => print(&format!("ok {text}\n")),
        Err(message) => print(&format!("error {}\n", message.replace('\n', " "))),
    }
}
