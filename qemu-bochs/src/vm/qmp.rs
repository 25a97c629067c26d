//! A small QMP (QEMU Machine Protocol) client over a unix socket.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

/// One message from QEMU.
#[derive(Debug, PartialEq)]
pub enum QmpMessage {
    Greeting(Value),
    Return(Value),
    Error { class: String, desc: String },
    Event(String),
}

/// Parses one line of QMP output.
pub fn parse_message(line: &str) -> Result<QmpMessage> {
    let value: Value =
        serde_json::from_str(line).with_context(|| format!("bad QMP message: {line}"))?;
    if let Some(greeting) = value.get("QMP") {
        return Ok(QmpMessage::Greeting(greeting.clone()));
    }
    if let Some(ret) = value.get("return") {
        return Ok(QmpMessage::Return(ret.clone()));
    }
    if let Some(error) = value.get("error") {
        let text = |key: &str| {
            error
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string()
        };
        return Ok(QmpMessage::Error {
            class: text("class"),
            desc: text("desc"),
        });
    }
    if let Some(event) = value.get("event").and_then(Value::as_str) {
        return Ok(QmpMessage::Event(event.to_string()));
    }
    bail!("unknown QMP message: {line}")
}

/// A connected QMP session in command mode.
pub struct Qmp {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Qmp {
    /// Connects (retrying until `timeout`, QEMU creates the socket while starting),
    /// reads the greeting and negotiates capabilities.
    pub fn connect(socket: &Path, timeout: Duration) -> Result<Self> {
        let deadline = Instant::now() + timeout;
        let stream = loop {
            match UnixStream::connect(socket) {
                Ok(stream) => break stream,
                Err(e) if Instant::now() >= deadline => {
                    return Err(e)
                        .context(format!("cannot connect to QMP socket {}", socket.display()))
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        };
        // Commands such as screendump finish in well under this.
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        let mut qmp = Self {
            reader: BufReader::new(stream.try_clone()?),
            writer: stream,
        };
        match qmp.read_message()? {
            QmpMessage::Greeting(_) => {}
            other => bail!("expected the QMP greeting, got {other:?}"),
        }
        qmp.execute("qmp_capabilities", json!({}))?;
        Ok(qmp)
    }

    /// Runs a command and returns its `return` value, skipping events.
    pub fn execute(&mut self, command: &str, arguments: Value) -> Result<Value> {
        let request = json!({ "execute": command, "arguments": arguments });
        writeln!(self.writer, "{request}")?;
        self.writer.flush()?;
        loop {
            match self.read_message()? {
                QmpMessage::Return(value) => return Ok(value),
                QmpMessage::Error { class, desc } => bail!("QMP {command} failed: {class}: {desc}"),
                QmpMessage::Event(_) | QmpMessage::Greeting(_) => {}
            }
        }
    }

    /// Saves the display of `device` (a qdev id; `None`: the first console) as a PNG (QEMU
    /// >= 7.1), or as a PPM if `path` ends in `.ppm` (cheaper: no compression).
    pub fn screendump(&mut self, path: &Path, device: Option<&str>) -> Result<()> {
        let filename = path.to_str().context("screenshot path is not UTF-8")?;
        let format = if path.extension().is_some_and(|e| e == "ppm") {
            "ppm"
        } else {
            "png"
        };
        let mut arguments = json!({ "filename": filename, "format": format });
        if let Some(device) = device {
            arguments["device"] = json!(device);
        }
        self.execute("screendump", arguments)?;
        Ok(())
    }

    fn read_message(&mut self) -> Result<QmpMessage> {
        let mut line = String::new();
        if self
            .reader
            .read_line(&mut line)
            .context("reading from QMP")?
            == 0
        {
            bail!("QMP connection closed (QEMU exited?)");
        }
        parse_message(line.trim())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_message_kind() {
        let greeting = r#"{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}}, "capabilities": ["oob"]}}"#;
        assert!(matches!(
            parse_message(greeting).unwrap(),
            QmpMessage::Greeting(_)
        ));
        assert_eq!(
            parse_message(r#"{"return": {}}"#).unwrap(),
            QmpMessage::Return(json!({}))
        );
        assert_eq!(
            parse_message(r#"{"error": {"class": "GenericError", "desc": "no such file"}}"#)
                .unwrap(),
            QmpMessage::Error {
                class: "GenericError".into(),
                desc: "no such file".into()
            }
        );
        let event =
            r#"{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "RESET", "data": {}}"#;
        assert_eq!(
            parse_message(event).unwrap(),
            QmpMessage::Event("RESET".into())
        );
        assert!(parse_message("not json").is_err());
        assert!(parse_message("{}").is_err());
    }

    #[test]
    fn execute_skips_events_until_the_return() {
        let dir = std::env::temp_dir().join(format!("qemu-bochs-qmp-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let socket = dir.join("qmp.sock");
        let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        // A fake QEMU: greeting, then for each request an event followed by the reply.
        let server = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut out = stream.try_clone().unwrap();
            let mut requests = BufReader::new(stream).lines();
            writeln!(out, r#"{{"QMP": {{"version": {{}}, "capabilities": []}}}}"#).unwrap();
            let first: Value = serde_json::from_str(&requests.next().unwrap().unwrap()).unwrap();
            assert_eq!(first["execute"], "qmp_capabilities");
            writeln!(out, r#"{{"return": {{}}}}"#).unwrap();
            let second: Value = serde_json::from_str(&requests.next().unwrap().unwrap()).unwrap();
            assert_eq!(second["arguments"]["format"], "png");
            writeln!(out, r#"{{"event": "VNC_CONNECTED", "timestamp": {{}}}}"#).unwrap();
            writeln!(out, r#"{{"return": {{}}}}"#).unwrap();
        });
        let mut qmp = Qmp::connect(&socket, Duration::from_secs(5)).unwrap();
        qmp.screendump(Path::new("/tmp/x.png"), None).unwrap();
        server.join().unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
