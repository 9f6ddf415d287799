//! Protocol versions: what lkm speaks and how a request's version is
//! answered.

use super::tag;
use crate::ttlv::Item;
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProtocolVersion {
    pub major: i32,
    pub minor: i32,
}

impl ProtocolVersion {
    pub const fn new(major: i32, minor: i32) -> Self {
        Self { major, minor }
    }

    /// Every version lkm speaks, newest first (the order DiscoverVersions uses).
    pub const SUPPORTED: [ProtocolVersion; 7] = [
        Self::new(2, 1),
        Self::new(2, 0),
        Self::new(1, 4),
        Self::new(1, 3),
        Self::new(1, 2),
        Self::new(1, 1),
        Self::new(1, 0),
    ];

    /// The version to answer a request made in `self`: the same version,
    /// or for a newer minor of a known major, the newest minor we speak
    /// (minors are backward compatible). None for an unknown major.
    pub fn negotiate(self) -> Option<ProtocolVersion> {
        if self.minor < 0 {
            return None;
        }
        Self::SUPPORTED
            .iter()
            .copied()
            .find(|v| v.major == self.major && v.minor <= self.minor)
    }

    pub fn is_2x(self) -> bool {
        self.major >= 2
    }

    pub fn to_item(self) -> Item {
        Item::structure(
            tag::PROTOCOL_VERSION,
            vec![
                Item::integer(tag::PROTOCOL_VERSION_MAJOR, self.major),
                Item::integer(tag::PROTOCOL_VERSION_MINOR, self.minor),
            ],
        )
    }

    pub fn from_item(item: &Item) -> Option<Self> {
        Some(Self {
            major: item.child(tag::PROTOCOL_VERSION_MAJOR)?.as_integer()?,
            minor: item.child(tag::PROTOCOL_VERSION_MINOR)?.as_integer()?,
        })
    }
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation() {
        let v = ProtocolVersion::new;
        assert_eq!(v(1, 2).negotiate(), Some(v(1, 2)));
        assert_eq!(v(1, 9).negotiate(), Some(v(1, 4)));
        assert_eq!(v(2, 7).negotiate(), Some(v(2, 1)));
        assert_eq!(v(3, 0).negotiate(), None);
        assert_eq!(v(0, 9).negotiate(), None);
        assert_eq!(v(1, -1).negotiate(), None);
    }
}
