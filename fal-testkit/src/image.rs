//! Real image bytes for the image URLs synthesized outputs hand out.
//!
//! The URL itself carries everything needed to draw the image
//! (`<cdn>/files/testkit/<W>x<H>-<seed>-<index>.png`), so serving it needs no
//! storage: 10,000 completed requests cost no image memory.

use png::{BitDepth, ColorType, Compression, Encoder};

/// Largest side fal's FLUX endpoints accept, and the largest the testkit draws.
pub(crate) const MAX_SIDE: u32 = 14_142;

/// Path (under the CDN base) of a generated image.
pub(crate) fn path(width: u32, height: u32, seed: u64, index: u32) -> String {
    format!("files/testkit/{width}x{height}-{seed}-{index}.png")
}

/// What to draw, parsed back from a file name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Spec {
    pub width: u32,
    pub height: u32,
    pub seed: u64,
    pub index: u32,
}

/// Parses `<W>x<H>-<seed>-<index>.png`; `None` for anything else.
pub(crate) fn parse_name(name: &str) -> Option<Spec> {
    let stem = name.strip_suffix(".png")?;
    let (size, rest) = stem.split_once('-')?;
    let (seed, index) = rest.split_once('-')?;
    let (width, height) = size.split_once('x')?;
    let spec = Spec {
        width: width.parse().ok()?,
        height: height.parse().ok()?,
        seed: seed.parse().ok()?,
        index: index.parse().ok()?,
    };
    let side_ok = |s: u32| (1..=MAX_SIDE).contains(&s);
    (side_ok(spec.width) && side_ok(spec.height)).then_some(spec)
}

/// Draws seed-coloured bands as an RGB PNG of exactly the requested size.
pub(crate) fn render(spec: Spec) -> Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::new();
    let mut encoder = Encoder::new(&mut out, spec.width, spec.height);
    encoder.set_color(ColorType::Rgb);
    encoder.set_depth(BitDepth::Eight);
    encoder.set_compression(Compression::Fast);
    // Sub filter: bands turn into runs of zero bytes (see below).
    encoder.set_filter(png::FilterType::Sub);
    let mut writer = encoder.write_header()?;
    let mut stream = writer.stream_writer()?;
    let mix = spec.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ u64::from(spec.index);
    let base = [(mix >> 8) as u8, (mix >> 24) as u8, (mix >> 40) as u8];
    // Sixteen colour bands each way: a visible, seed-dependent picture whose
    // Sub-filtered rows are almost all zero bytes, so it compresses to little.
    let width = spec.width as usize;
    let height = u64::from(spec.height);
    let mut row = vec![0u8; width * 3];
    for y in 0..spec.height {
        let g = base[1].wrapping_add(((u64::from(y) * 16 / height) * 16) as u8);
        for (x, pixel) in row.chunks_exact_mut(3).enumerate() {
            let r = base[0].wrapping_add(((x * 16 / width) * 16) as u8);
            pixel.copy_from_slice(&[r, g, base[2]]);
        }
        std::io::Write::write_all(&mut stream, &row)?;
    }
    stream.finish()?;
    drop(writer);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_bounds_hold() {
        let name = path(64, 32, 42, 1);
        let file = name.rsplit('/').next().unwrap_or_default();
        assert_eq!(
            parse_name(file),
            Some(Spec {
                width: 64,
                height: 32,
                seed: 42,
                index: 1
            })
        );
        assert_eq!(parse_name("0x32-1-0.png"), None);
        assert_eq!(parse_name("99999x32-1-0.png"), None);
        assert_eq!(parse_name("64x32-1-0.jpg"), None);
        assert_eq!(parse_name("64x32-1.png"), None);
    }

    #[test]
    fn the_largest_image_stays_small() {
        let bytes = render(Spec {
            width: 4096,
            height: 4096,
            seed: 1,
            index: 0,
        })
        .expect("encodes");
        assert!(bytes.len() < 2048 * 2048 * 3 / 20, "{} bytes", bytes.len());
    }

    #[test]
    fn render_writes_a_png_of_the_requested_size() {
        let bytes = render(Spec {
            width: 7,
            height: 3,
            seed: 9,
            index: 0,
        })
        .expect("encodes");
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let decoder = png::Decoder::new(bytes.as_slice());
        let reader = decoder.read_info().expect("decodes");
        assert_eq!((reader.info().width, reader.info().height), (7, 3));
    }
}
