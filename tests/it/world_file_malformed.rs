//! Malformed world files are rejected with file, line, column, field path and expectation.

use std::path::Path;

use lbsg::world::file::load_path;

use crate::world_file::WORLDS;

/// Every malformed fixture, with where it must be reported and what must be said.
const MALFORMED: &[(&str, usize, usize, &str, &str)] = &[
    (
        "wrong-api-version.yaml",
        1,
        13,
        "apiVersion",
        "expected apiVersion lbsg/v1, found \"lbsg/v2\"",
    ),
    (
        "wrong-kind.yaml",
        3,
        7,
        "kind",
        "expected kind World, found \"List\"",
    ),
    (
        "port-out-of-range.yaml",
        21,
        39,
        "aws.ec2.DescribeSecurityGroups.SecurityGroups[1].IpPermissions[0].FromPort",
        "expected an integer from 0 to 65535, found 70000",
    ),
    (
        "port-quoted.yaml",
        14,
        15,
        "kubernetes.items[0].spec.ports[0].port",
        "expected an integer from 0 to 65535, found the string \"443\"",
    ),
    (
        "bad-cidr.yaml",
        14,
        21,
        "aws.ec2.DescribeSecurityGroups.SecurityGroups[0].IpPermissions[0].IpRanges[1].CidrIp",
        "expected an IPv4 CIDR such as 10.0.0.0/16, found \"10.0.0.300/24\"",
    ),
    (
        "ipv6-in-ipv4-field.yaml",
        13,
        19,
        "aws.ec2.DescribeSecurityGroupRules.SecurityGroupRules[0].CidrIpv4",
        "expected an IPv4 CIDR",
    ),
    (
        "eni-bad-ip.yaml",
        9,
        29,
        "aws.ec2.DescribeNetworkInterfaces.NetworkInterfaces[0].PrivateIpAddresses[0].PrivateIpAddress",
        "expected an IPv4 address, found \"10.0.1.999\"",
    ),
    (
        "duplicate-sg-across-pages.yaml",
        12,
        18,
        "aws.ec2.DescribeSecurityGroups[1].SecurityGroups[0].GroupId",
        "duplicate security group `sg-0aaa0000000000001` (also at aws.ec2.DescribeSecurityGroups[0].SecurityGroups[0].GroupId, line 7)",
    ),
    (
        "duplicate-service.yaml",
        15,
        22,
        "kubernetes.items[2].metadata.name",
        "duplicate Service `shop/web` (also at kubernetes.items[0].metadata.name, line 9)",
    ),
    (
        "duplicate-key.yaml",
        6,
        3,
        "cluster.name",
        "duplicate key `name` (first given at line 4)",
    ),
    (
        "unsupported-ingress-version.yaml",
        5,
        17,
        "kubernetes.items[0].apiVersion",
        "unsupported apiVersion \"extensions/v1beta1\" for Ingress; expected networking.k8s.io/v1",
    ),
    (
        "missing-ip-protocol.yaml",
        9,
        11,
        "aws.ec2.DescribeSecurityGroups.SecurityGroups[0].IpPermissions[0].IpProtocol",
        "missing required field `IpProtocol`",
    ),
    (
        "unknown-call.yaml",
        6,
        5,
        "aws.ec2.DescribeSecurityGroup",
        "unknown field `DescribeSecurityGroup`; expected one of: DescribeVpcs, DescribeSubnets, DescribeSecurityGroups,",
    ),
    (
        "bad-controller-arg.yaml",
        6,
        5,
        "controller.args[1]",
        "--enable-backend-security-group=maybe: expected true or false",
    ),
    (
        "list-expected.yaml",
        7,
        9,
        "aws.elbv2.DescribeLoadBalancers.LoadBalancers",
        "expected a list, found a mapping",
    ),
    (
        "is-egress-quoted.yaml",
        8,
        19,
        "aws.ec2.DescribeSecurityGroupRules.SecurityGroupRules[0].IsEgress",
        "expected true or false, found the string \"false\"",
    ),
    (
        "truncated.json",
        11,
        29,
        "aws.ec2.DescribeSecurityGroups.SecurityGroups[0].IpPermissions[0]",
        "`{` is never closed (the file is truncated or a bracket is missing)",
    ),
    (
        "truncated-string.yaml",
        9,
        1,
        "kubernetes.items[0].message",
        "(the file ends early: truncated?)",
    ),
];

#[test]
fn malformed_files_name_file_line_column_path_and_expectation() {
    let dir = Path::new(WORLDS).join("malformed");
    for (file, line, column, path, expected) in MALFORMED {
        let full = dir.join(file);
        let err = load_path(&full).expect_err(file);
        let p = err.problem().unwrap_or_else(|| panic!("{file}: {err}"));
        assert_eq!(
            (p.line, p.column, p.path.as_str()),
            (*line, *column, *path),
            "{file}: {err}"
        );
        assert!(p.message.contains(expected), "{file}: {err}");
        let shown = err.to_string();
        let head = format!("{}:{line}:{column}: {path}: ", full.display());
        assert!(
            shown.starts_with(&head),
            "{shown}\ndoes not start with\n{head}"
        );
    }
    // Every fixture in the directory is checked above.
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = MALFORMED.iter().map(|m| m.0.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed);
}
