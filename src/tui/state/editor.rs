//! The two editors' state: annotations of a Service/Ingress, inbound rules of a user-owned SG.
//! Both validate on every keystroke and turn into an `Edit` only when everything is valid.

use std::collections::BTreeMap;

use crate::core::lbc::annotations::Kind;
use crate::core::plan::edit::parse_rule;
use crate::core::plan::{Edit, ResourceRef};
use crate::world::{Rule, Source, World};

use super::input::LineInput;
use crate::tui::fields::{self, FieldDef, Verdict};
use crate::tui::model::RuleOwner;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditField {
    pub def: FieldDef,
    pub original: Option<String>,
    pub input: LineInput,
    pub verdict: Verdict,
}

impl EditField {
    pub fn full_key(&self, kind: Kind) -> String {
        format!("{}{}", kind.prefix(), self.def.suffix)
    }

    pub fn changed(&self) -> bool {
        self.original.as_deref().unwrap_or("") != self.input.text.trim()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnotationEditor {
    pub resource: ResourceRef,
    pub kind: Kind,
    pub fields: Vec<EditField>,
    pub focus: usize,
}

impl AnnotationEditor {
    /// An editor over the current annotations of `resource`; `None` if it is not in the world.
    pub fn open(world: &World, resource: &ResourceRef, focus: Option<&str>) -> Option<Self> {
        let annotations = match resource {
            ResourceRef::Service(k) => &world.kube.services.as_ref()?.get(k)?.meta.annotations,
            ResourceRef::Ingress(k) => &world.kube.ingresses.as_ref()?.get(k)?.meta.annotations,
        };
        let kind = fields::kind_of(resource);
        let fields: Vec<EditField> = fields::fields_for(kind)
            .iter()
            .map(|def| {
                let original = annotations
                    .get(&format!("{}{}", kind.prefix(), def.suffix))
                    .cloned();
                let input = LineInput::new(original.as_deref().unwrap_or(""));
                let verdict = fields::validate(kind, def, &input.text, world);
                EditField {
                    def: *def,
                    original,
                    input,
                    verdict,
                }
            })
            .collect();
        let focus = focus
            .and_then(|s| fields.iter().position(|f| f.def.suffix == s))
            .unwrap_or(0);
        Some(Self {
            resource: resource.clone(),
            kind,
            fields,
            focus,
        })
    }

    pub fn revalidate(&mut self, world: &World) {
        let kind = self.kind;
        if let Some(f) = self.fields.get_mut(self.focus) {
            f.verdict = fields::validate(kind, &f.def, &f.input.text, world);
        }
    }

    pub fn errors(&self) -> usize {
        self.fields
            .iter()
            .filter(|f| f.verdict.error.is_some())
            .count()
    }

    /// The edit the form describes: changed non-empty values are set, emptied ones unset.
    pub fn edit(&self) -> Result<Edit, String> {
        if let Some(f) = self.fields.iter().find(|f| f.verdict.error.is_some()) {
            return Err(format!("{}: fix the value first", f.def.suffix));
        }
        let mut set = BTreeMap::new();
        let mut unset = Vec::new();
        for f in self.fields.iter().filter(|f| f.changed()) {
            let v = f.input.text.trim();
            if v.is_empty() {
                unset.push(f.full_key(self.kind));
            } else {
                set.insert(f.full_key(self.kind), v.to_string());
            }
        }
        if set.is_empty() && unset.is_empty() {
            return Err("nothing changed".into());
        }
        Ok(Edit::Annotations {
            resource: self.resource.clone(),
            set,
            unset,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleItem {
    pub rule: Rule,
    pub owner: RuleOwner,
    pub remove: bool,
}

/// Inbound rules of one user-owned SG: mark existing ones for removal, type new ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleEditor {
    pub sg: String,
    pub rules: Vec<RuleItem>,
    /// `PROTO:PORTS:SOURCE[:DESCRIPTION]`, comma-free; several rules separated by spaces.
    pub input: LineInput,
    pub error: Option<String>,
    /// `0..rules.len()` a rule row, `rules.len()` the input line.
    pub focus: usize,
}

impl RuleEditor {
    pub fn new(sg: &str, rules: Vec<(Rule, RuleOwner)>) -> Self {
        let focus = rules.len();
        Self {
            sg: sg.to_string(),
            rules: rules
                .into_iter()
                .map(|(rule, owner)| RuleItem {
                    rule,
                    owner,
                    remove: false,
                })
                .collect(),
            input: LineInput::default(),
            error: None,
            focus,
        }
    }

    pub fn on_input(&self) -> bool {
        self.focus >= self.rules.len()
    }

    /// Parse the input line; SG sources must exist in the world.
    pub fn parse_input(&self, world: &World) -> Result<Vec<Rule>, String> {
        let mut out = Vec::new();
        for token in self.input.text.split_whitespace() {
            let r = parse_rule(token)?;
            if let Source::Group(g) = &r.source
                && world
                    .aws
                    .security_groups
                    .as_ref()
                    .is_some_and(|m| !m.contains_key(g))
            {
                return Err(format!("{g} is not in the loaded world"));
            }
            out.push(r);
        }
        Ok(out)
    }

    pub fn revalidate(&mut self, world: &World) {
        self.error = self.parse_input(world).err();
    }

    pub fn edit(&self, world: &World) -> Result<Edit, String> {
        let add = self.parse_input(world)?;
        let remove: Vec<Rule> = self
            .rules
            .iter()
            .filter(|r| r.remove)
            .map(|r| r.rule.clone())
            .collect();
        if add.is_empty() && remove.is_empty() {
            return Err("nothing changed: type a rule or mark one for removal".into());
        }
        Ok(Edit::Rules {
            sg: self.sg.clone(),
            add,
            remove,
        })
    }
}
