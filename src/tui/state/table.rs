//! A list cursor that remembers its row by key, not by position, so a refresh that adds, removes
//! or reorders rows keeps the cursor on the same object.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor<K> {
    /// Visible rows in display order (filtered and sorted), recomputed in the reducer.
    pub keys: Vec<K>,
    pub selected: Option<K>,
    /// Position of `selected` in `keys` (cached).
    pub pos: usize,
    /// First visible row.
    pub offset: usize,
}

impl<K> Default for Cursor<K> {
    fn default() -> Self {
        Self {
            keys: Vec::new(),
            selected: None,
            pos: 0,
            offset: 0,
        }
    }
}

impl<K: Clone + PartialEq> Cursor<K> {
    /// Replace the rows, keeping the selection by key; when the selected row is gone the cursor
    /// stays at the same position (clamped).
    pub fn set_keys(&mut self, keys: Vec<K>) {
        self.keys = keys;
        if let Some(sel) = &self.selected
            && let Some(p) = self.keys.iter().position(|k| k == sel)
        {
            self.pos = p;
            return;
        }
        self.pos = self.pos.min(self.keys.len().saturating_sub(1));
        self.selected = self.keys.get(self.pos).cloned();
    }

    pub fn select(&mut self, key: &K) {
        if let Some(p) = self.keys.iter().position(|k| k == key) {
            self.pos = p;
            self.selected = Some(key.clone());
        }
    }

    pub fn move_by(&mut self, delta: isize) {
        if self.keys.is_empty() {
            return;
        }
        let last = self.keys.len() - 1;
        let p = (self.pos as isize + delta).clamp(0, last as isize) as usize;
        self.pos = p;
        self.selected = self.keys.get(p).cloned();
    }

    pub fn to_end(&mut self, end: bool) {
        if self.keys.is_empty() {
            return;
        }
        self.pos = if end { self.keys.len() - 1 } else { 0 };
        self.selected = self.keys.get(self.pos).cloned();
    }

    /// Keep the cursor inside a window of `height` rows.
    pub fn scroll(&mut self, height: usize) {
        let h = height.max(1);
        if self.pos < self.offset {
            self.offset = self.pos;
        } else if self.pos >= self.offset + h {
            self.offset = self.pos + 1 - h;
        }
        let max_offset = self.keys.len().saturating_sub(h);
        self.offset = self.offset.min(max_offset);
    }

    pub fn current(&self) -> Option<&K> {
        self.selected.as_ref().filter(|_| !self.keys.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_survives_reorder_and_insertions() {
        let mut c = Cursor::default();
        c.set_keys(vec!["a", "b", "c"]);
        assert_eq!(c.current(), Some(&"a"));
        c.move_by(2);
        assert_eq!(c.current(), Some(&"c"));
        c.set_keys(vec!["new", "c", "a", "b"]);
        assert_eq!((c.current(), c.pos), (Some(&"c"), 1));
    }

    #[test]
    fn removed_selection_falls_back_to_same_position() {
        let mut c = Cursor::default();
        c.set_keys(vec!["a", "b", "c"]);
        c.move_by(2);
        c.set_keys(vec!["a", "b"]);
        assert_eq!(c.current(), Some(&"b"));
        c.set_keys(vec![]);
        assert_eq!(c.current(), None);
        c.move_by(1);
        c.set_keys(vec!["z"]);
        assert_eq!(c.current(), Some(&"z"));
    }

    #[test]
    fn scrolling_keeps_cursor_visible() {
        let mut c = Cursor::default();
        c.set_keys((0..100).collect());
        c.move_by(50);
        c.scroll(10);
        assert_eq!(c.offset, 41);
        c.move_by(-45);
        c.scroll(10);
        assert_eq!(c.offset, 5);
        c.to_end(true);
        c.scroll(10);
        assert_eq!(c.offset, 90);
    }
}
