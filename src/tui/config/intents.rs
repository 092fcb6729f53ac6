//! Everything a key can ask for, per section, with its config name, help text, default keys
//! and whether it leads to a change (those are hidden in read-only mode and never on Ctrl-).

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Section {
    /// Tables, graph, every view without a dialog open.
    Normal,
    /// The plan preview dialog.
    Plan,
    /// The annotation and rule editors (text fields take printable keys first).
    Form,
}

impl Section {
    pub fn name(self) -> &'static str {
        match self {
            Section::Normal => "normal",
            Section::Plan => "plan",
            Section::Form => "form",
        }
    }
}

/// Something a key can ask for. The config name is the snake_case form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Intent {
    Quit,
    ForceQuit,
    Back,
    Help,
    CommandMode,
    Filter,
    MoveUp,
    MoveDown,
    MoveLeft,
    MoveRight,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Open,
    SortNext,
    SortReverse,
    EditAnnotations,
    EditRules,
    ApplyRemedy,
    Refresh,
    DialogNext,
    DialogPrev,
    Activate,
    Cancel,
    ScrollUp,
    ScrollDown,
    NextField,
    PrevField,
    Submit,
    ToggleRemove,
}

/// One row of the intent table.
pub struct IntentInfo {
    pub intent: Intent,
    pub name: &'static str,
    pub section: Section,
    pub desc: &'static str,
    pub defaults: &'static [&'static str],
    /// Leads to a change: hidden and refused in read-only mode, never on a Ctrl- key.
    pub edits: bool,
}

macro_rules! intent {
    ($i:ident, $name:literal, $sec:ident, $desc:literal, [$($k:literal),*], $edits:literal) => {
        IntentInfo {
            intent: Intent::$i,
            name: $name,
            section: Section::$sec,
            desc: $desc,
            defaults: &[$($k),*],
            edits: $edits,
        }
    };
}

/// Every bindable intent, in help order.
pub const INTENTS: &[IntentInfo] = &[
    intent!(Help, "help", Normal, "this help", ["?"], false),
    intent!(
        CommandMode,
        "command_mode",
        Normal,
        "command: :svc :ing :lb :sg :findings :drift :ctx :q",
        [":"],
        false
    ),
    intent!(
        Filter,
        "filter",
        Normal,
        "filter rows (substring, !inverse)",
        ["/"],
        false
    ),
    intent!(
        Open,
        "open",
        Normal,
        "open: graph of the row, or the node's SG/LB view",
        ["enter"],
        false
    ),
    intent!(
        Back,
        "back",
        Normal,
        "back, clear the filter",
        ["esc"],
        false
    ),
    intent!(MoveDown, "move_down", Normal, "down", ["j", "down"], false),
    intent!(MoveUp, "move_up", Normal, "up", ["k", "up"], false),
    intent!(
        MoveLeft,
        "move_left",
        Normal,
        "graph: previous column",
        ["h", "left"],
        false
    ),
    intent!(
        MoveRight,
        "move_right",
        Normal,
        "graph: next column",
        ["l", "right"],
        false
    ),
    intent!(
        PageDown,
        "page_down",
        Normal,
        "page down",
        ["pagedown", "ctrl-d"],
        false
    ),
    intent!(
        PageUp,
        "page_up",
        Normal,
        "page up",
        ["pageup", "ctrl-u"],
        false
    ),
    intent!(Top, "top", Normal, "first row", ["home", "g"], false),
    intent!(Bottom, "bottom", Normal, "last row", ["end", "G"], false),
    intent!(
        SortNext,
        "sort_next",
        Normal,
        "sort by the next column",
        ["s"],
        false
    ),
    intent!(
        SortReverse,
        "sort_reverse",
        Normal,
        "reverse the sort",
        ["S"],
        false
    ),
    intent!(
        EditAnnotations,
        "edit_annotations",
        Normal,
        "edit the LBC annotations of the resource",
        ["e"],
        true
    ),
    intent!(
        EditRules,
        "edit_rules",
        Normal,
        "edit the inbound rules of the selected SG",
        ["r"],
        true
    ),
    intent!(
        ApplyRemedy,
        "apply_remedy",
        Normal,
        "plan the remedy of the selected finding",
        ["f"],
        true
    ),
    intent!(
        Refresh,
        "refresh",
        Normal,
        "reload the world now",
        ["ctrl-r"],
        false
    ),
    intent!(Quit, "quit", Normal, "quit", ["q"], false),
    intent!(
        ForceQuit,
        "force_quit",
        Normal,
        "quit now (never applies anything)",
        ["ctrl-c"],
        false
    ),
    intent!(
        DialogNext,
        "dialog_next",
        Plan,
        "next button",
        ["tab", "right", "l"],
        false
    ),
    intent!(
        DialogPrev,
        "dialog_prev",
        Plan,
        "previous button",
        ["backtab", "left", "h"],
        false
    ),
    intent!(
        Activate,
        "activate",
        Plan,
        "press the focused button (Cancel is focused first)",
        ["enter"],
        true
    ),
    intent!(
        Cancel,
        "cancel",
        Plan,
        "close without applying",
        ["esc", "q"],
        false
    ),
    intent!(
        ScrollDown,
        "scroll_down",
        Plan,
        "scroll down",
        ["j", "down", "pagedown"],
        false
    ),
    intent!(
        ScrollUp,
        "scroll_up",
        Plan,
        "scroll up",
        ["k", "up", "pageup"],
        false
    ),
    intent!(
        NextField,
        "next_field",
        Form,
        "next field",
        ["tab", "down"],
        false
    ),
    intent!(
        PrevField,
        "prev_field",
        Form,
        "previous field",
        ["backtab", "up"],
        false
    ),
    intent!(
        Submit,
        "submit",
        Form,
        "preview the plan of this edit",
        ["enter"],
        true
    ),
    intent!(
        ToggleRemove,
        "toggle_remove",
        Form,
        "rule list: mark/unmark the rule for removal",
        ["delete", "space"],
        true
    ),
    intent!(
        Cancel,
        "cancel",
        Form,
        "close the editor, nothing changes",
        ["esc"],
        false
    ),
];

impl Intent {
    /// The table row of this intent in `section` (Cancel exists in two sections).
    pub fn info(self, section: Section) -> Option<&'static IntentInfo> {
        INTENTS
            .iter()
            .find(|i| i.intent == self && i.section == section)
    }

    pub fn is_edit(self) -> bool {
        INTENTS.iter().any(|i| i.intent == self && i.edits)
    }
}
