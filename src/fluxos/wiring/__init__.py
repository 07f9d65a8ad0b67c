"""The composition of a node, area by area: each module builds its area's services onto
`fluxos.node.Node` from the node's settings and the parts built before it."""
