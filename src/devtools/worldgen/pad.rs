//! Padding up to the size's counts with what an account holds besides the LBC's objects:
//! application and database SGs with their rules, more VPC CNI ENIs on the nodes, and ENIs of
//! VPC endpoints and databases.

use std::collections::BTreeSet;

use super::Gen;
use crate::world::{PrefixList, Rule, RuleKey, Source, Tags};

const PAD_PORTS: [i32; 12] = [
    443, 5432, 3306, 6379, 9200, 8080, 27017, 11211, 2049, 9092, 5672, 8443,
];
/// EC2's default quota of inbound rules per SG; padding stays under it.
const MAX_RULES_PER_SG: usize = 55;
/// ENIs one instance may carry (a 4xlarge takes 8).
const MAX_ENIS_PER_NODE: i32 = 8;

impl Gen {
    pub(super) fn pad(&mut self) {
        let pl = self.prefix_lists();
        let pad_sgs = self.pad_sgs();
        self.pad_rules(&pad_sgs, &pl);
        self.pad_enis(&pad_sgs);
    }

    fn prefix_lists(&mut self) -> Vec<String> {
        let lists = [
            (
                "com.amazonaws.us-east-1.s3",
                vec!["16.182.0.0/16", "52.216.0.0/15"],
            ),
            ("corp-offices", vec!["198.51.100.0/24", "203.0.113.0/24"]),
        ];
        let mut ids = Vec::new();
        for (name, entries) in lists {
            let id = format!("pl-0{}", self.rng.hex(16));
            let pl = PrefixList {
                id: id.clone(),
                name: name.to_string(),
                address_family: Some("IPv4".into()),
                max_entries: Some(entries.len() as i32 + 8),
                entries: Some(entries.iter().map(|e| e.to_string()).collect()),
            };
            if let Some(m) = self.w.aws.prefix_lists.as_mut() {
                m.insert(id.clone(), pl);
            }
            ids.push(id);
        }
        ids
    }

    fn sg_count(&self) -> usize {
        self.w.aws.security_groups.as_ref().map_or(0, |m| m.len())
    }

    fn pad_sgs(&mut self) -> Vec<String> {
        let kinds = ["app", "rds", "cache", "vpce", "batch", "lambda"];
        let mut out = Vec::new();
        let mut k = 0;
        while self.sg_count() < self.spec.counts.security_groups {
            let name = format!("{}-{k}", kinds[k % kinds.len()]);
            let tags = Tags::from([
                ("Name".to_string(), name.clone()),
                ("team".to_string(), format!("team-{}", k % 17)),
            ]);
            out.push(self.add_sg(&name, "managed by terraform", tags, Vec::new()));
            k += 1;
        }
        out
    }

    fn rule_count(&self) -> usize {
        self.w
            .aws
            .security_groups
            .iter()
            .flat_map(|m| m.values())
            .map(|g| g.ingress.len())
            .sum()
    }

    /// Spread the missing rules over the padding SGs: CIDRs of the VPC, other SGs, prefix lists.
    fn pad_rules(&mut self, pad: &[String], pl: &[String]) {
        let missing = self
            .spec
            .counts
            .inbound_rules
            .saturating_sub(self.rule_count());
        if pad.is_empty() || missing == 0 {
            return;
        }
        let per = (missing / pad.len()).min(MAX_RULES_PER_SG);
        let mut extra = (missing - per * pad.len()).min(pad.len());
        let sources: Vec<String> = [
            self.net.cluster_sg.clone(),
            self.net.bastion_sg.clone(),
            self.net.monitoring_sg.clone(),
        ]
        .into_iter()
        .chain(pad.iter().take(50).cloned())
        .collect();
        for (k, sg) in pad.iter().enumerate() {
            let mut n = per;
            if extra > 0 && per < MAX_RULES_PER_SG {
                n += 1;
                extra -= 1;
            }
            let mut seen: BTreeSet<RuleKey> = BTreeSet::new();
            let mut j = 0;
            while seen.len() < n && j < n * 4 {
                let port = PAD_PORTS[(k + j) % PAD_PORTS.len()];
                let source = match j % 6 {
                    4 => Source::Group(sources[(k + j) % sources.len()].clone()),
                    5 if !pl.is_empty() => Source::PrefixList(pl[j % pl.len()].clone()),
                    _ => Source::Cidr(format!("10.{}.{}.0/24", (j / 3) % 250, (k * 7 + j) % 250)),
                };
                let rule = Rule::new("tcp", port, port, source, "");
                if seen.insert(rule.key()) {
                    self.add_rule(sg, rule);
                }
                j += 1;
            }
        }
    }

    fn eni_count(&self) -> usize {
        self.w.aws.enis.as_ref().map_or(0, |m| m.len())
    }

    /// More VPC CNI ENIs on the nodes (round robin, up to the instance limit), then a tail of
    /// VPC endpoint and database ENIs.
    fn pad_enis(&mut self, pad: &[String]) {
        let target = self.spec.counts.enis;
        let tail = (target / 50).max(10);
        let nodes: Vec<String> = self.net.nodes.iter().map(|n| n.instance.clone()).collect();
        let mut device = 2;
        'outer: while device < MAX_ENIS_PER_NODE && !nodes.is_empty() {
            for inst in &nodes {
                if self.eni_count() + tail >= target {
                    break 'outer;
                }
                self.add_node_eni(inst, device);
            }
            device += 1;
        }
        let mut k = 0;
        while self.eni_count() < target {
            let subnet = {
                let az = &self.net.node_subnets[k % self.net.node_subnets.len()];
                az.first().cloned().unwrap_or_default()
            };
            let (desc, itype) = if k % 2 == 0 {
                ("VPC Endpoint Interface", "vpc_endpoint")
            } else {
                ("RDSNetworkInterface", "interface")
            };
            let groups = pad
                .get(k % pad.len().max(1))
                .cloned()
                .map(|g| vec![g])
                .unwrap_or_else(|| vec![self.net.bastion_sg.clone()]);
            self.add_eni(&subnet, groups, desc, itype, None, Tags::new());
            k += 1;
        }
    }
}
