//! A change to a world without a copy of it: the objects that replace the world's own. A plan
//! touches a handful of security groups, load balancers and Services/Ingresses; copying a
//! large world (tens of thousands of ENIs) to see them is most of the cost of "what does this
//! plan do to exposure", so readers look through an overlay instead.

use std::collections::BTreeMap;

use super::{Ingress, LoadBalancer, ObjKey, SecurityGroup, Service, World};

/// Objects replacing the world's own. Only objects the change touched are here.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorldOverlay {
    /// Security groups created, changed or deleted (`None`).
    pub security_groups: BTreeMap<String, Option<SecurityGroup>>,
    /// Load balancers changed (never created or deleted).
    pub load_balancers: BTreeMap<String, LoadBalancer>,
    /// Services and Ingresses changed (never created or deleted).
    pub services: BTreeMap<ObjKey, Service>,
    pub ingresses: BTreeMap<ObjKey, Ingress>,
    /// The world held no security groups (unknown) and the change created one: afterwards the
    /// list is known.
    pub creates_sg_list: bool,
}

impl WorldOverlay {
    pub fn is_empty(&self) -> bool {
        self.security_groups.is_empty()
            && self.load_balancers.is_empty()
            && self.services.is_empty()
            && self.ingresses.is_empty()
            && !self.creates_sg_list
    }

    /// The security group `id` as the change leaves it.
    pub fn sg<'a>(&'a self, world: &'a World, id: &str) -> Option<&'a SecurityGroup> {
        match self.security_groups.get(id) {
            Some(sg) => sg.as_ref(),
            None => world.aws.security_groups.as_ref()?.get(id),
        }
    }

    /// The load balancer `arn` as the change leaves it.
    pub fn lb<'a>(&'a self, world: &'a World, arn: &str) -> Option<&'a LoadBalancer> {
        match self.load_balancers.get(arn) {
            Some(lb) => Some(lb),
            None => world.aws.load_balancers.as_ref()?.get(arn),
        }
    }

    /// The Service `key` as the change leaves it.
    pub fn service<'a>(&'a self, world: &'a World, key: &ObjKey) -> Option<&'a Service> {
        match self.services.get(key) {
            Some(s) => Some(s),
            None => world.kube.services.as_ref()?.get(key),
        }
    }

    /// Write the overlay into `world` (a copy of the world it was made on).
    pub fn write_into(&self, world: &mut World) {
        if self.creates_sg_list {
            world.aws.security_groups.get_or_insert_with(BTreeMap::new);
        }
        if let Some(sgs) = world.aws.security_groups.as_mut() {
            for (id, sg) in &self.security_groups {
                match sg {
                    Some(sg) => sgs.insert(id.clone(), sg.clone()),
                    None => sgs.remove(id),
                };
            }
        }
        if let Some(lbs) = world.aws.load_balancers.as_mut() {
            for (arn, lb) in &self.load_balancers {
                lbs.insert(arn.clone(), lb.clone());
            }
        }
        if let Some(services) = world.kube.services.as_mut() {
            for (k, s) in &self.services {
                services.insert(k.clone(), s.clone());
            }
        }
        if let Some(ings) = world.kube.ingresses.as_mut() {
            for (k, i) in &self.ingresses {
                ings.insert(k.clone(), i.clone());
            }
        }
    }
}
