//! Incremental Server-Sent Events framing (the WHATWG `text/event-stream` rules).
//!
//! The one SSE reader of the crate: `/stream` and the queue status stream both read
//! their bodies through [`SseBody`]. Written here rather than taken from a crate
//! because both need three things the SSE crates we looked at do not give: a hard bound on the
//! memory one event may take (a server that never sends a newline must not grow a
//! buffer forever), a way to tell a stream that ended cleanly from one that was cut
//! in the middle of an event (the last event is the final output, so silently
//! dropping a half-received one would return the wrong result), and strict UTF-8
//! (the payload must be JSON anyway, so a replacement character only hides a bug).
//!
//! Only `data` and `event` fields matter to fal's clients; `id` and `retry` are
//! accepted and ignored, as are comments and unknown fields.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt};
use tokio::time::Instant;

use super::{StreamError, StreamOptions};

/// One dispatched event: its `event:` name (if any) and its `data:` lines joined by `\n`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SseEvent {
    /// The `event:` field; `None` means the default type, `message`.
    pub(crate) name: Option<String>,
    /// Every `data:` line of the event joined with `\n`.
    pub(crate) data: String,
}

/// Why a byte stream is not a well-formed event stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SseError {
    /// A `data:` or `event:` value was not UTF-8.
    InvalidUtf8 {
        /// `data` or `event`.
        field: &'static str,
    },
    /// One event (or one line) grew past the configured limit.
    EventTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body ended after part of an event had arrived, without the blank line that
    /// completes it.
    Unterminated {
        /// How many bytes of the unfinished event were received.
        pending_bytes: usize,
    },
}

impl std::fmt::Display for SseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::InvalidUtf8 { field } => write!(f, "an SSE {field} field is not valid UTF-8"),
            Self::EventTooLarge { limit } => {
                write!(f, "an SSE event exceeds the limit of {limit} bytes")
            }
            Self::Unterminated { pending_bytes } => write!(
                f,
                "the event stream ended in the middle of an event ({pending_bytes} bytes unterminated)"
            ),
        }
    }
}

impl std::error::Error for SseError {}

const BOM: &[u8] = "\u{feff}".as_bytes();

/// Turns chunks of bytes, split anywhere, into complete events.
#[derive(Debug)]
pub(crate) struct SseParser {
    /// Bytes of a line whose terminator has not arrived yet.
    line: Vec<u8>,
    /// Data lines of the current event, each followed by `\n`.
    data: Vec<u8>,
    name: Option<String>,
    /// The previous chunk ended in `\r`, so a leading `\n` in the next one belongs to it.
    after_cr: bool,
    /// Still at the very start of the stream, where a byte-order mark may appear.
    at_start: bool,
    /// Whether the current event has seen any field yet (for truncation detection).
    in_event: bool,
    max_event_bytes: usize,
    /// Complete lines seen (fields, comments, blank lines): what the idle timer
    /// counts as progress, so bytes that never finish a line cannot keep a
    /// stream alive.
    lines: u64,
}

impl SseParser {
    /// A parser that refuses any single event larger than `max_event_bytes`.
    pub(crate) fn new(max_event_bytes: usize) -> Self {
        Self {
            line: Vec::new(),
            data: Vec::new(),
            name: None,
            after_cr: false,
            at_start: true,
            in_event: false,
            max_event_bytes,
            lines: 0,
        }
    }

    /// How many complete lines the parser has seen.
    pub(crate) fn lines(&self) -> u64 {
        self.lines
    }

    /// Feeds the next chunk, appending every event it completes to `out`.
    pub(crate) fn push(
        &mut self,
        mut chunk: &[u8],
        out: &mut VecDeque<SseEvent>,
    ) -> Result<(), SseError> {
        if self.at_start {
            // The BOM may itself be split across chunks; wait until it can be decided.
            let have = self.line.len() + chunk.len();
            if have < BOM.len() && BOM.starts_with(&[&self.line[..], chunk].concat()) {
                self.line.extend_from_slice(chunk);
                return Ok(());
            }
            let mut head = std::mem::take(&mut self.line);
            head.extend_from_slice(chunk);
            self.at_start = false;
            let rest = head.strip_prefix(BOM).unwrap_or(&head).to_vec();
            return self.push(&rest, out);
        }
        if self.after_cr && !chunk.is_empty() {
            self.after_cr = false;
            if let Some(rest) = chunk.strip_prefix(b"\n") {
                chunk = rest;
            }
        }
        while let Some(end) = memchr::memchr2(b'\n', b'\r', chunk) {
            let (head, tail) = chunk.split_at(end);
            let terminator = tail[0];
            chunk = &tail[1..];
            if terminator == b'\r' {
                match chunk.first() {
                    Some(b'\n') => chunk = &chunk[1..],
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
            if self.line.is_empty() {
                self.check_size(head.len())?;
                self.process_line(head, out)?;
            } else {
                self.check_size(self.line.len() + head.len())?;
                let mut line = std::mem::take(&mut self.line);
                line.extend_from_slice(head);
                self.process_line(&line, out)?;
                line.clear();
                self.line = line;
            }
        }
        self.check_size(self.line.len() + chunk.len())?;
        self.line.extend_from_slice(chunk);
        Ok(())
    }

    /// Called at the end of the body: an event that was started but never completed
    /// means the stream was cut.
    pub(crate) fn finish(&self) -> Result<(), SseError> {
        let pending = self.line.len() + self.data.len();
        if self.in_event || !self.line.is_empty() {
            // A stream that consisted of nothing but a BOM prefix is not an event.
            if self.at_start && BOM.starts_with(&self.line) && !self.in_event {
                return Ok(());
            }
            return Err(SseError::Unterminated {
                pending_bytes: pending,
            });
        }
        Ok(())
    }

    fn check_size(&self, line_bytes: usize) -> Result<(), SseError> {
        if self.data.len().saturating_add(line_bytes) > self.max_event_bytes {
            return Err(SseError::EventTooLarge {
                limit: self.max_event_bytes,
            });
        }
        Ok(())
    }

    fn process_line(&mut self, line: &[u8], out: &mut VecDeque<SseEvent>) -> Result<(), SseError> {
        self.lines += 1;
        if line.is_empty() {
            self.dispatch(out)?;
            return Ok(());
        }
        if line[0] == b':' {
            return Ok(());
        }
        let (field, value) = match memchr::memchr(b':', line) {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &[][..]),
        };
        match field {
            b"data" => {
                self.in_event = true;
                self.data.extend_from_slice(value);
                self.data.push(b'\n');
            }
            b"event" => {
                self.in_event = true;
                let name = std::str::from_utf8(value)
                    .map_err(|_| SseError::InvalidUtf8 { field: "event" })?;
                self.name = Some(name.to_owned());
            }
            // `id`, `retry` and unknown fields still belong to an event in progress.
            _ => self.in_event = true,
        }
        Ok(())
    }

    fn dispatch(&mut self, out: &mut VecDeque<SseEvent>) -> Result<(), SseError> {
        self.in_event = false;
        let name = self.name.take();
        if self.data.is_empty() {
            // An event with no data lines is not dispatched (WHATWG rule).
            return Ok(());
        }
        self.data.pop();
        // Hand the buffer out and start the next one at the same size: events of a
        // stream tend to be alike, so this is one allocation per event, not a
        // doubling series.
        let next = Vec::with_capacity(self.data.len() + 1);
        let bytes = std::mem::replace(&mut self.data, next);
        let data = String::from_utf8(bytes).map_err(|_| SseError::InvalidUtf8 { field: "data" })?;
        out.push_back(SseEvent { name, data });
        Ok(())
    }
}

/// The one adapter from a response body to SSE events, for `/stream` and the
/// queue status stream alike: events bounded by the parser's limit, a cut
/// body told from a finished one, and one idle timeout. The timer runs while
/// waiting (not only after a chunk arrives) and is reset only by a complete
/// line (an event field, a keep-alive comment, a blank line), so neither
/// silence nor a server dripping bytes that never end a line holds a stream
/// open past `idle`. Work is linear in the bytes received.
pub(crate) struct SseBody {
    body: BoxStream<'static, reqwest::Result<Bytes>>,
    parser: SseParser,
    ready: VecDeque<SseEvent>,
    idle: Duration,
    finished: bool,
}

impl SseBody {
    pub(crate) fn new<S>(body: S, options: &StreamOptions) -> Self
    where
        S: Stream<Item = reqwest::Result<Bytes>> + Send + 'static,
    {
        Self {
            body: body.boxed(),
            parser: SseParser::new(options.max_event_bytes),
            ready: VecDeque::new(),
            idle: options.idle(),
            finished: false,
        }
    }

    /// The next event; `None` once the body ended cleanly. After an error the
    /// body is not read further.
    pub(crate) async fn next(&mut self) -> Option<Result<SseEvent, StreamError>> {
        let mut deadline = Instant::now() + self.idle;
        loop {
            if let Some(event) = self.ready.pop_front() {
                return Some(Ok(event));
            }
            if self.finished {
                return None;
            }
            let lines = self.parser.lines();
            let chunk = match tokio::time::timeout_at(deadline, self.body.next()).await {
                Ok(chunk) => chunk,
                Err(_) => return self.fail(StreamError::Idle(self.idle)),
            };
            match chunk {
                Some(Ok(chunk)) => {
                    if let Err(error) = self.parser.push(&chunk, &mut self.ready) {
                        return self.fail(StreamError::Malformed(error));
                    }
                    if self.parser.lines() != lines {
                        deadline = Instant::now() + self.idle;
                    }
                }
                Some(Err(error)) => {
                    return self.fail(StreamError::Interrupted(error.without_url()))
                }
                None => {
                    self.finished = true;
                    // `ready` is empty here, so every complete event was
                    // delivered before an unterminated one is reported.
                    if let Err(error) = self.parser.finish() {
                        return Some(Err(StreamError::Malformed(error)));
                    }
                }
            }
        }
    }

    fn fail(&mut self, error: StreamError) -> Option<Result<SseEvent, StreamError>> {
        self.finished = true;
        self.ready.clear();
        Some(Err(error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse_all(chunks: &[&[u8]]) -> Result<Vec<SseEvent>, SseError> {
        let mut parser = SseParser::new(1 << 20);
        let mut out = VecDeque::new();
        for chunk in chunks {
            parser.push(chunk, &mut out)?;
        }
        parser.finish()?;
        Ok(out.into_iter().collect())
    }

    fn ev(name: Option<&str>, data: &str) -> SseEvent {
        SseEvent {
            name: name.map(str::to_owned),
            data: data.to_owned(),
        }
    }

    #[test]
    fn every_line_ending_and_field_form() {
        let body = b"\xEF\xBB\xBF: comment\r\ndata: {\"a\":1}\r\n\r\nevent: partial\rdata:x\rdata\r\rid: 7\nretry: 10\n\n";
        assert_eq!(
            parse_all(&[body]).unwrap(),
            vec![ev(None, "{\"a\":1}"), ev(Some("partial"), "x\n")]
        );
    }

    #[test]
    fn an_event_without_data_is_not_dispatched() {
        assert_eq!(parse_all(&[b"event: ping\n\n"]).unwrap(), vec![]);
    }

    #[test]
    fn crlf_split_between_chunks_is_one_terminator() {
        let events = parse_all(&[b"data: 1\r", b"\n\r", b"\ndata: 2\n\n"]).unwrap();
        assert_eq!(events, vec![ev(None, "1"), ev(None, "2")]);
        // An empty chunk between the two halves does not end the `\r`'s wait
        // for its `\n` (found by the round-trip property below).
        let events = parse_all(&[b"event: aaa\r", b"", b"\ndata:  \r\n\r\n"]).unwrap();
        assert_eq!(events, vec![ev(Some("aaa"), " ")]);
    }

    #[test]
    fn a_body_cut_mid_event_is_an_error() {
        assert_eq!(
            parse_all(&[b"data: {\"a\":1}\n\ndata: {\"b\""]),
            Err(SseError::Unterminated { pending_bytes: 10 })
        );
        assert!(matches!(
            parse_all(&[b"data: 1\n"]),
            Err(SseError::Unterminated { .. })
        ));
    }

    #[test]
    fn an_endless_line_hits_the_limit() {
        let mut parser = SseParser::new(16);
        let mut out = VecDeque::new();
        assert!(parser.push(b"data: 0123456789", &mut out).is_ok());
        assert_eq!(
            parser.push(b"abcdef", &mut out),
            Err(SseError::EventTooLarge { limit: 16 })
        );
    }

    #[test]
    fn invalid_utf8_in_data_is_an_error() {
        assert_eq!(
            parse_all(&[b"data: \xff\xfe\n\n"]),
            Err(SseError::InvalidUtf8 { field: "data" })
        );
    }

    /// A body that sends `head`, then one byte of the same line every second, forever.
    fn drip(head: &'static [u8]) -> impl Stream<Item = reqwest::Result<Bytes>> + Send + 'static {
        let head = futures_util::stream::iter([Ok(Bytes::from_static(head))]);
        let bytes = futures_util::stream::unfold((), |()| async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            Some((Ok(Bytes::from_static(b"x")), ()))
        });
        head.chain(bytes)
    }

    #[tokio::test(start_paused = true)]
    async fn bytes_that_never_end_a_line_do_not_reset_the_idle_timer() {
        let options = StreamOptions::default().inactivity_timeout(Duration::from_secs(5));
        let mut events = SseBody::new(drip(b"data: 1\n\ndata: "), &options);
        assert_eq!(events.next().await.unwrap().unwrap().data, "1");
        let started = Instant::now();
        let err = events.next().await.unwrap().unwrap_err();
        assert!(err.is_timeout(), "{err}");
        // Four or five drips arrived; none completed a line.
        assert_eq!(started.elapsed(), Duration::from_secs(5));
        assert!(events.next().await.is_none(), "nothing after the error");
    }

    #[tokio::test(start_paused = true)]
    async fn keep_alive_comments_reset_the_idle_timer() {
        let comments = futures_util::stream::unfold(0u32, |n| async move {
            tokio::time::sleep(Duration::from_secs(4)).await;
            let line: &'static [u8] = if n == 5 {
                b"data: done\n\n"
            } else {
                b": ping\n"
            };
            Some((Ok(Bytes::from_static(line)), n + 1))
        });
        let options = StreamOptions::default().inactivity_timeout(Duration::from_secs(5));
        let mut events = SseBody::new(comments, &options);
        // Six lines four seconds apart: 24 s in all, never 5 s without a line.
        assert_eq!(events.next().await.unwrap().unwrap().data, "done");
    }

    #[tokio::test]
    async fn an_event_over_the_limit_ends_the_stream_with_too_large() {
        let body = futures_util::stream::iter([Ok(Bytes::from(
            [&b"data: "[..], &[b'a'; 100][..]].concat(),
        ))]);
        let options = StreamOptions::default().max_event_bytes(64);
        let mut events = SseBody::new(body, &options);
        let err = events.next().await.unwrap().unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::TooLarge, "{err}");
    }

    /// Serializes events the way a server would, with a chosen line ending.
    fn render(events: &[(Option<String>, Vec<String>)], eol: &str) -> Vec<u8> {
        let mut body = String::new();
        for (name, lines) in events {
            if let Some(name) = name {
                body.push_str(&format!("event: {name}{eol}"));
            }
            for line in lines {
                body.push_str(&format!("data: {line}{eol}"));
            }
            body.push_str(eol);
        }
        body.into_bytes()
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512),
                                       split in 0usize..512) {
            let split = split.min(bytes.len());
            let mut parser = SseParser::new(256);
            let mut out = VecDeque::new();
            if parser.push(&bytes[..split], &mut out).is_ok()
                && parser.push(&bytes[split..], &mut out).is_ok() {
                let _ = parser.finish();
            }
            for event in &out {
                prop_assert!(event.data.len() <= 256);
            }
        }

        #[test]
        fn rendered_events_round_trip_under_any_chunking(
            events in proptest::collection::vec(
                (proptest::option::of("[a-z]{1,8}"),
                 proptest::collection::vec("[^\r\n]{0,20}", 1..4)),
                0..6),
            eol in prop_oneof![Just("\n"), Just("\r\n"), Just("\r")],
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..6),
        ) {
            let body = render(&events, eol);
            let mut points: Vec<usize> = cuts.iter().map(|i| i.index(body.len() + 1)).collect();
            points.sort_unstable();
            let mut chunks = Vec::new();
            let mut start = 0;
            for p in points {
                chunks.push(&body[start..p]);
                start = p;
            }
            chunks.push(&body[start..]);
            let parsed = parse_all(&chunks).unwrap();
            let expected: Vec<SseEvent> = events
                .iter()
                .map(|(name, lines)| SseEvent { name: name.clone(), data: lines.join("\n") })
                .collect();
            prop_assert_eq!(parsed, expected);
        }
    }
}
