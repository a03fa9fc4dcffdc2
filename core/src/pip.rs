//! Point in polygon with a half-open boundary rule, exact (robust orientation predicates).
//!
//! Rule: a point on an edge shared by two areas belongs to exactly one of them: the one that contains the
//! point moved an infinitesimal step east (then north, for horizontal edges). A point on the outer edge of
//! the tree, which no area takes by that rule, belongs to the area whose closed polygon covers it
//! (smallest code first).
