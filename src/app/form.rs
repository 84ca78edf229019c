//! The parameter form: a scenario's parameters as editable fields, checked by the command
//! line's own parser when applied.

use ratatui::crossterm::event::{KeyCode, KeyEvent};

use crate::scenario::Params;
use crate::scenario::flags::{Flag, from_flags, to_flags};

#[derive(Debug, Clone, PartialEq)]
pub struct Form {
    pub scenario: usize,
    pub name: &'static str,
    pub fields: Vec<Flag>,
    pub selected: usize,
    pub error: Option<String>,
}

/// What a key did to the form.
#[derive(Debug)]
pub enum FormOutcome {
    Editing,
    Cancelled,
    Applied(Params),
}

impl Form {
    pub fn new(scenario: usize, params: &Params) -> Self {
        Form {
            scenario,
            name: params.name(),
            fields: to_flags(params),
            selected: 0,
            error: None,
        }
    }

    fn cycle(&mut self, step: isize) {
        let f = &mut self.fields[self.selected];
        if f.choices.is_empty() {
            return;
        }
        let n = f.choices.len() as isize;
        let i = f.choices.iter().position(|c| *c == f.value).unwrap_or(0) as isize;
        f.value = f.choices[((i + step).rem_euclid(n)) as usize].to_string();
    }

    pub fn on_key(&mut self, k: KeyEvent) -> FormOutcome {
        let n = self.fields.len();
        match k.code {
            KeyCode::Esc => return FormOutcome::Cancelled,
            KeyCode::Up | KeyCode::BackTab => self.selected = (self.selected + n - 1) % n,
            KeyCode::Down | KeyCode::Tab => self.selected = (self.selected + 1) % n,
            KeyCode::Left => self.cycle(-1),
            KeyCode::Right | KeyCode::Char(' ')
                if !self.fields[self.selected].choices.is_empty() =>
            {
                self.cycle(1)
            }
            KeyCode::Backspace => {
                self.fields[self.selected].value.pop();
            }
            KeyCode::Char(c) if self.fields[self.selected].choices.is_empty() => {
                self.fields[self.selected].value.push(c);
            }
            KeyCode::Enter => match from_flags(self.name, &self.fields) {
                Ok(p) => return FormOutcome::Applied(p),
                Err(e) => self.error = Some(e),
            },
            _ => {}
        }
        FormOutcome::Editing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::from(c)
    }

    #[test]
    fn edit_validate_and_apply() {
        let p = crate::scenario::default_params("lock").expect("lock");
        let mut f = Form::new(5, &p);
        // --deltas: "1,3" -> "1,3,5"
        for c in [KeyCode::Char(','), KeyCode::Char('5')] {
            assert!(matches!(f.on_key(key(c)), FormOutcome::Editing));
        }
        // --mode: both -> unlocked
        f.on_key(key(KeyCode::Down));
        f.on_key(key(KeyCode::Right));
        match f.on_key(key(KeyCode::Enter)) {
            FormOutcome::Applied(Params::Lock(l)) => {
                assert_eq!(l.deltas.0, vec![1, 3, 5]);
                assert_eq!(l.mode, Some(crate::scenario::lock::Mode::Unlocked));
            }
            other => panic!("not applied: {other:?}"),
        }
        // A bad value stays in the form with the parser's message.
        f.on_key(key(KeyCode::Up));
        f.on_key(key(KeyCode::Char('x')));
        assert!(matches!(
            f.on_key(key(KeyCode::Enter)),
            FormOutcome::Editing
        ));
        assert!(f.error.as_deref().is_some_and(|e| e.contains("--deltas")));
    }

    #[test]
    fn the_editor_refuses_what_the_command_line_refuses() {
        let p = crate::scenario::default_params("lock").expect("lock");
        let mut f = Form::new(5, &p);
        let script = f
            .fields
            .iter()
            .position(|x| x.name == "--step-script")
            .expect("a script field");
        f.selected = script;
        for c in "1r,3w".chars() {
            f.on_key(key(KeyCode::Char(c)));
        }
        assert!(matches!(
            f.on_key(key(KeyCode::Enter)),
            FormOutcome::Editing
        ));
        assert!(
            f.error
                .as_deref()
                .is_some_and(|e| e.contains("names worker 3")),
            "{:?}",
            f.error
        );
    }
}
