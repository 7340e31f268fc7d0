//! Several strings kept in one allocation: thousands of idle registrations each hold a dozen short texts.

use std::fmt;

/// `N` strings stored back to back in one buffer, each found by where it ends.
#[derive(Clone, PartialEq, Eq)]
pub struct PackedStrs<const N: usize> {
    text: Box<str>,
    /// The end of each string in `text`; each starts where the one before ends.
    ends: [u32; N],
}

impl<const N: usize> PackedStrs<N> {
    /// Packs `parts` in order.
    ///
    /// # Panics
    ///
    /// When the parts add up to 4 GiB or more, which no registration setting comes near.
    pub fn new(parts: [&str; N]) -> Self {
        let mut text = String::with_capacity(parts.iter().map(|p| p.len()).sum());
        let ends = parts.map(|part| {
            text.push_str(part);
            u32::try_from(text.len()).expect("packed strings stay under 4 GiB")
        });
        Self {
            text: text.into_boxed_str(),
            ends,
        }
    }

    /// The `i`th string.
    ///
    /// # Panics
    ///
    /// When `i >= N`.
    pub fn get(&self, i: usize) -> &str {
        let start = i.checked_sub(1).map_or(0, |before| self.ends[before]);
        &self.text[start as usize..self.ends[i] as usize]
    }
}

impl<const N: usize> fmt::Debug for PackedStrs<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries((0..N).map(|i| self.get(i))).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let parts = ["trunk1", "", "ü-é", "pbx.example.com:5070", ""];
        let packed = PackedStrs::new(parts);
        let back: Vec<&str> = (0..parts.len()).map(|i| packed.get(i)).collect();
        assert_eq!(back, parts);
        assert_eq!(
            format!("{packed:?}"),
            r#"["trunk1", "", "ü-é", "pbx.example.com:5070", ""]"#
        );
    }

    #[test]
    fn equal_only_when_every_part_is() {
        // The same bytes split differently are different strings.
        assert_ne!(PackedStrs::new(["ab", "c"]), PackedStrs::new(["a", "bc"]));
        assert_eq!(PackedStrs::new(["ab", "c"]), PackedStrs::new(["ab", "c"]));
    }

    #[test]
    fn empty_parts() {
        let packed = PackedStrs::new(["", ""]);
        assert_eq!((packed.get(0), packed.get(1)), ("", ""));
    }
}
