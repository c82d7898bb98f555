//! A ticket type's state machine as an SVG drawing: one box per state in
//! code order, wrapping after four, an arrow per transition; the current
//! state filled, the states and moves the ticket went through drawn bold.
//! Generated from the manifest, so it is always the machine in force.

use std::fmt::Write;

use crate::model::TicketType;

const PER_ROW: usize = 4;
const W: i64 = 150;
const H: i64 = 44;
const GAP_X: i64 = 60;
const GAP_Y: i64 = 50;
/// Room above the first row for the arcs that skip a box.
const TOP: i64 = 50;
const ARC: i64 = 45;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The drawing; `current` the ticket's state, `path` the states it went
/// through in order.
pub fn svg(tt: &TicketType, current: u32, path: &[u32]) -> String {
    let codes: Vec<u32> = tt.states.keys().copied().collect();
    let at = |code: u32| {
        let i = codes.iter().position(|c| *c == code).unwrap_or(0);
        let (col, row) = ((i % PER_ROW) as i64, (i / PER_ROW) as i64);
        (20 + col * (W + GAP_X), TOP + row * (H + GAP_Y))
    };
    let rows = codes.len().div_ceil(PER_ROW).max(1) as i64;
    let cols = codes.len().clamp(1, PER_ROW) as i64;
    let (width, height) = (
        40 + cols * W + (cols - 1) * GAP_X,
        TOP + 20 + rows * H + (rows - 1) * GAP_Y,
    );
    let moved = |from: u32, to: u32| path.windows(2).any(|w| w[0] == from && w[1] == to);
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" role=\"img\" \
         aria-label=\"States of {}\"><defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" \
         refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\">\
         <path d=\"M0,0 L10,5 L0,10 z\" fill=\"#5b6575\"/></marker></defs>",
        escape(&tt.name)
    );
    for (from, tos) in &tt.transitions {
        for to in tos {
            let (x1, y1) = at(*from);
            let (x2, y2) = at(*to);
            // Next box on the row: a straight arrow. Further along the
            // row, or back: an arc over the boxes. Another row: down.
            let d = if y1 == y2 && x2 - x1 == W + GAP_X {
                format!("M{},{} L{x2},{}", x1 + W, y1 + H / 2, y2 + H / 2)
            } else if y1 == y2 {
                let (sx, ex) = (x1 + W / 2, x2 + W / 2);
                format!("M{sx},{y1} Q{},{} {ex},{y2}", (sx + ex) / 2, y1 - ARC)
            } else {
                format!("M{},{} L{},{y2}", x1 + W / 2, y1 + H, x2 + W / 2)
            };
            let bold = if moved(*from, *to) { 3 } else { 1 };
            let _ = write!(
                out,
                "<path d=\"{d}\" fill=\"none\" stroke=\"#5b6575\" stroke-width=\"{bold}\" \
                 marker-end=\"url(#arrow)\"/>"
            );
        }
    }
    for (code, state) in &tt.states {
        let (x, y) = at(*code);
        let (fill, ink) = if *code == current {
            ("#2457c5", "#ffffff")
        } else if path.contains(code) {
            ("#e8eefc", "#1d2430")
        } else {
            ("#ffffff", "#1d2430")
        };
        let stroke = if state.terminal { 3 } else { 1 };
        let _ = write!(
            out,
            "<g class=\"state{}\"><rect x=\"{x}\" y=\"{y}\" width=\"{W}\" height=\"{H}\" rx=\"8\" \
             fill=\"{fill}\" stroke=\"#2457c5\" stroke-width=\"{stroke}\"/><text x=\"{}\" y=\"{}\" \
             text-anchor=\"middle\" font-size=\"13\" fill=\"{ink}\">{} {}</text></g>",
            if *code == current { " current" } else { "" },
            x + W / 2,
            y + H / 2 + 5,
            code,
            escape(&state.name)
        );
    }
    out.push_str("</svg>");
    out
}
