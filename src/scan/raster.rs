//! Grey page images: decoded from PNG/JPEG attachments or from `pdftoppm`'s
//! PGM pages, turned by a small angle, written back as PGM for tesseract.

use super::ScanError;

/// Largest image side accepted, in pixels: a longer one is refused rather
/// than allocated (a long image of a report is a few pages tall).
const MAX_SIDE: usize = 40_000;
/// Largest image accepted, in pixels.
const MAX_PIXELS: usize = 120_000_000;

/// One grey image, a byte per pixel, 0 black and 255 white.
#[derive(Debug, Clone, PartialEq)]
pub struct Gray {
    pub width: usize,
    pub height: usize,
    pub px: Vec<u8>,
}

impl Gray {
    /// A white image.
    pub fn white(width: usize, height: usize) -> Gray {
        Gray {
            width,
            height,
            px: vec![255; width * height],
        }
    }

    pub fn get(&self, x: usize, y: usize) -> u8 {
        self.px.get(y * self.width + x).copied().unwrap_or(255)
    }

    pub fn set(&mut self, x: usize, y: usize, v: u8) {
        if x < self.width {
            if let Some(p) = self.px.get_mut(y * self.width + x) {
                *p = v;
            }
        }
    }

    /// Decode a PNG or JPEG attachment.
    pub fn decode(bytes: &[u8]) -> Result<Gray, ScanError> {
        let reader = image::ImageReader::new(std::io::Cursor::new(bytes))
            .with_guessed_format()
            .map_err(|e| ScanError::Image(e.to_string()))?;
        let (w, h) = reader
            .into_dimensions()
            .map_err(|e| ScanError::Image(e.to_string()))?;
        check_size(w as usize, h as usize)?;
        let img = image::load_from_memory(bytes).map_err(|e| ScanError::Image(e.to_string()))?;
        let luma = img.into_luma8();
        let mut px = luma.as_raw().clone();
        // A 1-bit image may arrive as levels 0 and 1.
        if px.iter().all(|p| *p <= 1) {
            px.iter_mut().for_each(|p| *p *= 255);
        }
        Ok(Gray {
            width: luma.width() as usize,
            height: luma.height() as usize,
            px,
        })
    }

    /// Read a binary PGM (`P5`, 8 bits), as `pdftoppm -gray` writes it.
    pub fn from_pgm(bytes: &[u8]) -> Result<Gray, ScanError> {
        let bad = || ScanError::Image("not an 8-bit binary PGM".into());
        let mut fields = Vec::new();
        let mut i = 0;
        while fields.len() < 4 {
            while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
                i += 1;
            }
            if bytes.get(i) == Some(&b'#') {
                while bytes.get(i).is_some_and(|b| *b != b'\n') {
                    i += 1;
                }
                continue;
            }
            let start = i;
            while bytes.get(i).is_some_and(|b| !b.is_ascii_whitespace()) {
                i += 1;
            }
            if start == i {
                return Err(bad());
            }
            fields.push(std::str::from_utf8(&bytes[start..i]).map_err(|_| bad())?);
        }
        let num = |s: &str| s.parse::<usize>().map_err(|_| bad());
        if fields[0] != "P5" || num(fields[3])? != 255 {
            return Err(bad());
        }
        let (width, height) = (num(fields[1])?, num(fields[2])?);
        check_size(width, height)?;
        let data = bytes.get(i + 1..i + 1 + width * height).ok_or_else(bad)?;
        Ok(Gray {
            width,
            height,
            px: data.to_vec(),
        })
    }

    /// The image as a binary PGM, which tesseract reads.
    pub fn to_pgm(&self) -> Vec<u8> {
        let mut out = format!("P5\n{} {}\n255\n", self.width, self.height).into_bytes();
        out.extend_from_slice(&self.px);
        out
    }

    /// The image turned by `degrees` counter-clockwise about its centre
    /// (bilinear, white where nothing was).
    pub fn rotated(&self, degrees: f64) -> Gray {
        let (sin, cos) = degrees.to_radians().sin_cos();
        let (cx, cy) = (self.width as f64 / 2.0, self.height as f64 / 2.0);
        let mut out = Gray::white(self.width, self.height);
        for y in 0..self.height {
            for x in 0..self.width {
                let (dx, dy) = (x as f64 - cx, y as f64 - cy);
                // The source of a pixel turned counter-clockwise (y down).
                let sx = cx + dx * cos - dy * sin;
                let sy = cy + dx * sin + dy * cos;
                out.px[y * self.width + x] = self.sample(sx, sy);
            }
        }
        out
    }

    /// The image at twice the size, ink black and paper white: the
    /// recogniser reads small print best so.
    pub fn doubled_binary(&self, ink: u8) -> Gray {
        let mut out = Gray::white(self.width * 2, self.height * 2);
        for y in 0..out.height {
            for x in 0..out.width {
                let v = self.sample(x as f64 / 2.0, y as f64 / 2.0);
                out.px[y * out.width + x] = if v <= ink { 0 } else { 255 };
            }
        }
        out
    }

    fn sample(&self, x: f64, y: f64) -> u8 {
        if x < 0.0 || y < 0.0 {
            return 255;
        }
        let (x0, y0) = (x.floor() as usize, y.floor() as usize);
        if x0 + 1 >= self.width || y0 + 1 >= self.height {
            return 255;
        }
        let (fx, fy) = (x - x0 as f64, y - y0 as f64);
        let p = |xx: usize, yy: usize| f64::from(self.get(xx, yy));
        let top = p(x0, y0) * (1.0 - fx) + p(x0 + 1, y0) * fx;
        let bottom = p(x0, y0 + 1) * (1.0 - fx) + p(x0 + 1, y0 + 1) * fx;
        (top * (1.0 - fy) + bottom * fy).round().clamp(0.0, 255.0) as u8
    }

    /// The grey level that best splits ink from paper: midway between the two
    /// classes of Otsu's method.
    pub fn ink_threshold(&self) -> u8 {
        let mut hist = [0u64; 256];
        for p in &self.px {
            hist[*p as usize] += 1;
        }
        let total = self.px.len() as f64;
        let sum: f64 = hist
            .iter()
            .enumerate()
            .map(|(i, n)| i as f64 * *n as f64)
            .sum();
        let (mut best, mut best_t) = (0.0, 128u8);
        let (mut weight, mut sum_below) = (0.0, 0.0);
        for (t, n) in hist.iter().enumerate() {
            weight += *n as f64;
            sum_below += t as f64 * *n as f64;
            let above = total - weight;
            if weight == 0.0 || above == 0.0 {
                continue;
            }
            let (m0, m1) = (sum_below / weight, (sum - sum_below) / above);
            let between = weight * above * (m0 - m1) * (m0 - m1);
            if between > best {
                best = between;
                // Midway between the two classes, so that a black-and-white
                // image turned (and so smoothed) keeps its lines.
                best_t = ((m0 + m1) / 2.0).round().clamp(0.0, 255.0) as u8;
            }
        }
        best_t
    }
}

fn check_size(width: usize, height: usize) -> Result<(), ScanError> {
    if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
        return Err(ScanError::Image(format!(
            "image of {width}×{height} pixels"
        )));
    }
    if width * height > MAX_PIXELS {
        return Err(ScanError::Image(format!(
            "image of {width}×{height} pixels is too large"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pgm_round_trip_and_bad_headers() {
        let mut g = Gray::white(3, 2);
        g.set(1, 1, 7);
        assert_eq!(Gray::from_pgm(&g.to_pgm()).ok(), Some(g));
        assert!(Gray::from_pgm(b"P5\n3 2\n255\n\x00").is_err());
        assert!(Gray::from_pgm(b"P6\n1 1\n255\n\x00\x00\x00").is_err());
        assert!(Gray::from_pgm(b"").is_err());
        assert!(Gray::decode(b"not an image").is_err());
    }
}
