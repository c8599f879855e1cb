//! Real bytes for the non-PNG files schema-driven outputs hand out: JPEG, MP4,
//! WAV and opaque binary files (PNGs keep `image.rs`'s names and renderer).
//!
//! Like PNGs, the URL carries everything needed to produce the file
//! (`<cdn>/files/testkit/media/<tag>-<W>x<H>-<ms>.<ext>`), so the testkit
//! stores nothing per file and the same URL always serves the same bytes.
//!
//! The MP4 is hand-built and minimal on purpose: `ftyp` + `moov` (an `mvhd`
//! carrying the duration and timescale, no tracks) + `mdat` with seeded
//! payload. It is a structurally valid ISO-BMFF file that demuxers open and
//! that clients sniffing magic or boxes accept; it has no decodable video
//! stream (encoding H.264 is out of scope for a test server).

use axum::body::Body;
use axum::response::Response;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, Method, StatusCode};
use jpeg_encoder::{ColorType, Encoder};

use crate::reply;
use crate::router::Call;

/// Largest side a JPEG is drawn with (bigger requests are refused as unknown paths).
pub(crate) const MAX_JPEG_SIDE: u32 = 4096;
/// Longest audio or video the testkit describes, in milliseconds.
pub(crate) const MAX_MS: u32 = 60_000;
/// WAV sample rate (mono, 16-bit PCM).
pub(crate) const SAMPLE_RATE: u32 = 16_000;
/// Size of an opaque binary file.
const BIN_SIZE: usize = 1024;

/// The kinds of file this module renders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `image/jpeg`.
    Jpeg,
    /// `video/mp4`.
    Mp4,
    /// `audio/wav`.
    Wav,
    /// `application/octet-stream`.
    Bin,
}

impl Kind {
    fn ext(self) -> &'static str {
        match self {
            Kind::Jpeg => "jpg",
            Kind::Mp4 => "mp4",
            Kind::Wav => "wav",
            Kind::Bin => "bin",
        }
    }

    /// The `Content-Type` it is served with.
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            Kind::Jpeg => "image/jpeg",
            Kind::Mp4 => "video/mp4",
            Kind::Wav => "audio/wav",
            Kind::Bin => "application/octet-stream",
        }
    }
}

/// One file, as named in its URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Spec {
    pub kind: Kind,
    /// Seeds the content.
    pub tag: u64,
    pub width: u32,
    pub height: u32,
    /// Duration (audio, video).
    pub ms: u32,
}

/// Path (under the CDN base) of a file.
pub(crate) fn path(spec: &Spec) -> String {
    format!(
        "files/testkit/media/{}-{}x{}-{}.{}",
        spec.tag,
        spec.width,
        spec.height,
        spec.ms,
        spec.kind.ext()
    )
}

/// Parses `<tag>-<W>x<H>-<ms>.<ext>` (the part after `files/testkit/media/`).
pub(crate) fn parse_name(name: &str) -> Option<Spec> {
    let (stem, ext) = name.rsplit_once('.')?;
    let kind = [Kind::Jpeg, Kind::Mp4, Kind::Wav, Kind::Bin]
        .into_iter()
        .find(|k| k.ext() == ext)?;
    let mut parts = stem.splitn(3, '-');
    let tag = parts.next()?.parse().ok()?;
    let (width, height) = parts.next()?.split_once('x')?;
    let ms: u32 = parts.next()?.parse().ok()?;
    let spec = Spec {
        kind,
        tag,
        width: width.parse().ok()?,
        height: height.parse().ok()?,
        ms,
    };
    let side_ok = |s: u32| (1..=MAX_JPEG_SIDE).contains(&s);
    let ok = match kind {
        Kind::Jpeg => side_ok(spec.width) && side_ok(spec.height),
        Kind::Mp4 | Kind::Wav => ms <= MAX_MS,
        Kind::Bin => true,
    };
    ok.then_some(spec)
}

/// Serves `files/testkit/media/<name>` (GET and HEAD).
pub(crate) async fn serve(call: &Call, name: &str, method: &Method) -> Response {
    let Some(spec) = parse_name(name) else {
        return reply::path_not_found(&format!("/{}", call.path));
    };
    if *method != Method::GET && *method != Method::HEAD {
        return reply::method_not_allowed();
    }
    let bytes = match tokio::task::spawn_blocking(move || render(&spec)).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(e)) => return reply::detail(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
        Err(_) => {
            return reply::detail(
                StatusCode::INTERNAL_SERVER_ERROR,
                "file rendering was interrupted",
            )
        }
    };
    let mut response = Response::new(if *method == Method::HEAD {
        Body::empty()
    } else {
        Body::from(bytes)
    });
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static(spec.kind.content_type()),
    );
    headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    response
}

/// Why a file could not be produced.
#[derive(Debug, thiserror::Error)]
#[error("JPEG encoding failed: {0}")]
pub(crate) struct RenderError(#[from] jpeg_encoder::EncodingError);

/// The file's bytes.
pub(crate) fn render(spec: &Spec) -> Result<Vec<u8>, RenderError> {
    match spec.kind {
        Kind::Jpeg => jpeg(spec),
        Kind::Mp4 => Ok(mp4(spec)),
        Kind::Wav => Ok(wav(spec)),
        Kind::Bin => Ok(noise(spec.tag, BIN_SIZE)),
    }
}

/// Exact size of the file, without rendering it (`None` for JPEG, whose size
/// depends on the encoder).
pub(crate) fn size_of(spec: &Spec) -> Option<u64> {
    match spec.kind {
        Kind::Jpeg => None,
        Kind::Mp4 => Some(mp4(spec).len() as u64),
        Kind::Wav => Some(44 + 2 * samples(spec.ms)),
        Kind::Bin => Some(BIN_SIZE as u64),
    }
}

fn jpeg(spec: &Spec) -> Result<Vec<u8>, RenderError> {
    let (w, h) = (spec.width as usize, spec.height as usize);
    let mix = spec.tag.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let base = [(mix >> 8) as u8, (mix >> 24) as u8, (mix >> 40) as u8];
    let mut pixels = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        let g = base[1].wrapping_add(((y * 8 / h) * 32) as u8);
        for x in 0..w {
            let r = base[0].wrapping_add(((x * 8 / w) * 32) as u8);
            pixels.extend_from_slice(&[r, g, base[2]]);
        }
    }
    let mut out = Vec::new();
    let encoder = Encoder::new(&mut out, 80);
    // parse_name bounds both sides to MAX_JPEG_SIDE, far below u16::MAX.
    let side = |s: u32| u16::try_from(s).unwrap_or(u16::MAX);
    encoder.encode(&pixels, side(spec.width), side(spec.height), ColorType::Rgb)?;
    Ok(out)
}

fn samples(ms: u32) -> u64 {
    u64::from(SAMPLE_RATE) * u64::from(ms) / 1000
}

/// RIFF/WAVE, PCM, mono, 16-bit: a seed-pitched sine tone.
fn wav(spec: &Spec) -> Vec<u8> {
    let n = samples(spec.ms);
    let data_len = u32::try_from(2 * n).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&SAMPLE_RATE.to_le_bytes());
    out.extend_from_slice(&(SAMPLE_RATE * 2).to_le_bytes()); // byte rate
    out.extend_from_slice(&2u16.to_le_bytes()); // block align
    out.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    let pitch = 220.0 + (spec.tag % 440) as f64;
    let step = std::f64::consts::TAU * pitch / f64::from(SAMPLE_RATE);
    for i in 0..n {
        let sample = ((i as f64 * step).sin() * 8000.0) as i16;
        out.extend_from_slice(&sample.to_le_bytes());
    }
    out
}

/// An ISO-BMFF box: big-endian size, four-character type, payload.
fn boxed(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let size = u32::try_from(8 + payload.len()).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(8 + payload.len());
    out.extend_from_slice(&size.to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(payload);
    out
}

fn mp4(spec: &Spec) -> Vec<u8> {
    let mut ftyp = Vec::new();
    ftyp.extend_from_slice(b"isom");
    ftyp.extend_from_slice(&512u32.to_be_bytes());
    for brand in [b"isom", b"iso2", b"mp41"] {
        ftyp.extend_from_slice(brand);
    }
    // mvhd version 0: flags, creation/modification times, timescale (ms), duration.
    let mut mvhd = vec![0u8; 4];
    mvhd.extend_from_slice(&0u32.to_be_bytes());
    mvhd.extend_from_slice(&0u32.to_be_bytes());
    mvhd.extend_from_slice(&1000u32.to_be_bytes());
    mvhd.extend_from_slice(&spec.ms.to_be_bytes());
    mvhd.extend_from_slice(&0x0001_0000u32.to_be_bytes()); // rate 1.0
    mvhd.extend_from_slice(&0x0100u16.to_be_bytes()); // volume 1.0
    mvhd.extend_from_slice(&[0u8; 10]); // reserved
    for m in [0x0001_0000u32, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000] {
        mvhd.extend_from_slice(&m.to_be_bytes()); // unity matrix
    }
    mvhd.extend_from_slice(&[0u8; 24]); // pre-defined
    mvhd.extend_from_slice(&1u32.to_be_bytes()); // next track id
    let moov = boxed(b"moov", &boxed(b"mvhd", &mvhd));
    let mut out = boxed(b"ftyp", &ftyp);
    out.extend_from_slice(&moov);
    out.extend_from_slice(&boxed(b"mdat", &noise(spec.tag, 256)));
    out
}

/// Seeded filler bytes (splitmix64).
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        out.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out.truncate(len);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(kind: Kind) -> Spec {
        Spec {
            kind,
            tag: 42,
            width: 33,
            height: 17,
            ms: 1500,
        }
    }

    #[test]
    fn names_round_trip() {
        for kind in [Kind::Jpeg, Kind::Mp4, Kind::Wav, Kind::Bin] {
            let s = spec(kind);
            let p = path(&s);
            let name = p.rsplit('/').next().unwrap_or_default();
            assert_eq!(parse_name(name), Some(s), "{p}");
        }
        assert_eq!(parse_name("1-0x5-0.jpg"), None);
        assert_eq!(parse_name("1-5x5-99999999.wav"), None);
        assert_eq!(parse_name("1-5x5-0.gif"), None);
        assert_eq!(parse_name("x-5x5-0.bin"), None);
    }

    #[test]
    fn jpeg_decodes_to_the_requested_size() {
        let bytes = render(&spec(Kind::Jpeg)).expect("encodes");
        let mut decoder = jpeg_decoder::Decoder::new(bytes.as_slice());
        decoder.decode().expect("decodes");
        let info = decoder.info().expect("info");
        assert_eq!((info.width, info.height), (33, 17));
    }

    #[test]
    fn wav_reads_back_with_the_declared_length() {
        let s = spec(Kind::Wav);
        let bytes = render(&s).expect("renders");
        assert_eq!(Some(bytes.len() as u64), size_of(&s));
        let reader = hound::WavReader::new(bytes.as_slice()).expect("wav");
        assert_eq!(reader.spec().sample_rate, SAMPLE_RATE);
        assert_eq!(reader.spec().channels, 1);
        assert_eq!(reader.duration(), 24_000);
    }

    #[test]
    fn mp4_is_a_chain_of_boxes_covering_the_file() {
        let s = spec(Kind::Mp4);
        let bytes = render(&s).expect("renders");
        assert_eq!(Some(bytes.len() as u64), size_of(&s));
        let mut at = 0;
        let mut kinds = Vec::new();
        while at < bytes.len() {
            let size = u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
                as usize;
            kinds.push(String::from_utf8_lossy(&bytes[at + 4..at + 8]).into_owned());
            assert!(size >= 8);
            at += size;
        }
        assert_eq!(at, bytes.len());
        assert_eq!(kinds, ["ftyp", "moov", "mdat"]);
        // mvhd duration at moov(8) + mvhd header(8) + 4 + 4 + 4 + 4.
        let moov = 8 + 20;
        let d = moov + 8 + 8 + 16;
        assert_eq!(&bytes[moov + 12..moov + 16], b"mvhd");
        assert_eq!(
            u32::from_be_bytes([bytes[d], bytes[d + 1], bytes[d + 2], bytes[d + 3]]),
            1500
        );
    }
}
