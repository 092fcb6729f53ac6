//! The sink's AWS calls through the SDK (the sink's logic is in `sink.rs`). Never egress.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};
use aws_sdk_elasticloadbalancingv2::types::EnforceSecurityGroupInboundRulesOnPrivateLinkTrafficEnum;

use super::client::Aws;
use super::ec2::{ip_permission, sdk_tags};
use super::errors::AwsError;
use super::inventory::{load_load_balancers_by_arn, load_security_groups_by_id};
use super::ops::Op;
use super::sink::SinkApi;
use crate::world::{LoadBalancer, Rule, SecurityGroup, Tags};

impl SinkApi for Aws {
    async fn describe_groups(
        &self,
        ids: &[String],
    ) -> Result<BTreeMap<String, SecurityGroup>, AwsError> {
        if ids.is_empty() {
            return Ok(BTreeMap::new());
        }
        load_security_groups_by_id(self, ids).await
    }

    async fn describe_load_balancers(
        &self,
        arns: &[String],
    ) -> Result<BTreeMap<String, LoadBalancer>, AwsError> {
        load_load_balancers_by_arn(self, arns).await
    }

    async fn create_security_group(
        &self,
        name: &str,
        description: &str,
        vpc_id: Option<&str>,
        tags: &Tags,
    ) -> Result<String, AwsError> {
        self.call(Op::CreateSecurityGroup);
        let mut req = self
            .ec2
            .create_security_group()
            .group_name(name)
            .description(description)
            .set_vpc_id(vpc_id.map(str::to_string));
        if !tags.is_empty() {
            req = req.tag_specifications(
                TagSpecification::builder()
                    .resource_type(ResourceType::SecurityGroup)
                    .set_tags(Some(sdk_tags(tags)))
                    .build(),
            );
        }
        let out = self.send(Op::CreateSecurityGroup, req.send()).await?;
        Ok(out.group_id().unwrap_or_default().to_string())
    }

    async fn authorize_ingress(&self, sg: &str, rules: &[Rule]) -> Result<(), AwsError> {
        self.call(Op::AuthorizeSecurityGroupIngress);
        let req = self
            .ec2
            .authorize_security_group_ingress()
            .group_id(sg)
            .set_ip_permissions(Some(rules.iter().map(|r| ip_permission(r, true)).collect()));
        self.send(Op::AuthorizeSecurityGroupIngress, req.send())
            .await
            .map(|_| ())
    }

    async fn revoke_ingress(&self, sg: &str, rules: &[Rule]) -> Result<(), AwsError> {
        self.call(Op::RevokeSecurityGroupIngress);
        let req = self
            .ec2
            .revoke_security_group_ingress()
            .group_id(sg)
            .set_ip_permissions(Some(
                rules.iter().map(|r| ip_permission(r, false)).collect(),
            ));
        self.send(Op::RevokeSecurityGroupIngress, req.send())
            .await
            .map(|_| ())
    }

    async fn set_security_groups(
        &self,
        lb: &str,
        sgs: &[String],
        private_link: Option<&str>,
    ) -> Result<(), AwsError> {
        self.call(Op::SetSecurityGroups);
        let req = self
            .elb
            .set_security_groups()
            .load_balancer_arn(lb)
            .set_security_groups(Some(sgs.to_vec()))
            .set_enforce_security_group_inbound_rules_on_private_link_traffic(
                private_link.map(EnforceSecurityGroupInboundRulesOnPrivateLinkTrafficEnum::from),
            );
        self.send(Op::SetSecurityGroups, req.send())
            .await
            .map(|_| ())
    }

    async fn create_tags(&self, sg: &str, tags: &Tags) -> Result<(), AwsError> {
        self.call(Op::CreateTags);
        let req = self
            .ec2
            .create_tags()
            .resources(sg)
            .set_tags(Some(sdk_tags(tags)));
        self.send(Op::CreateTags, req.send()).await.map(|_| ())
    }

    async fn delete_tags(&self, sg: &str, keys: &[String]) -> Result<(), AwsError> {
        self.call(Op::DeleteTags);
        let tags = keys.iter().map(|k| Tag::builder().key(k).build()).collect();
        let req = self.ec2.delete_tags().resources(sg).set_tags(Some(tags));
        self.send(Op::DeleteTags, req.send()).await.map(|_| ())
    }

    async fn delete_security_group(&self, sg: &str) -> Result<(), AwsError> {
        self.call(Op::DeleteSecurityGroup);
        let req = self.ec2.delete_security_group().group_id(sg);
        self.send(Op::DeleteSecurityGroup, req.send())
            .await
            .map(|_| ())
    }
}
