#ifndef CNCURSES_SHIM_H
#define CNCURSES_SHIM_H

// Functions for what ncurses only offers as macros (COLOR_PAIR, getmaxyx, A_*), the wide-character cell
// output, and an async-signal-safe signal flag. TerminalUI is its only user (the other C is CSQLiteSettings).

#include <stdint.h>

/// Keys decoded from ncurses' key codes; anything else printable arrives as HB_KEY_CHARACTER.
typedef enum {
    HB_KEY_NONE = 0,
    HB_KEY_CHARACTER,
    HB_KEY_UP, HB_KEY_DOWN, HB_KEY_LEFT, HB_KEY_RIGHT,
    HB_KEY_BACKTAB, HB_KEY_RESIZE, HB_KEY_BACKSPACE, HB_KEY_ENTER, HB_KEY_DELETE,
    HB_KEY_PAGE_UP, HB_KEY_PAGE_DOWN, HB_KEY_HOME, HB_KEY_END,
    HB_KEY_OTHER
} hb_key_kind;

/// Attribute bits passed to hb_put_cell.
enum { HB_ATTR_BOLD = 1, HB_ATTR_REVERSE = 2, HB_ATTR_UNDERLINE = 4 };

/// setlocale(LC_ALL, ""), then newterm (like initscr, but failing instead of exiting), cbreak, noecho, keypad, non-blocking input, hidden cursor, colours
/// (with use_default_colors). Returns 0 on success, -1 when the terminal could not be initialised.
int hb_begin(int want_color);
/// Checks $TERM before anything is drawn: 0 when terminfo knows it and it can address the cursor, -1 when
/// terminfo does not know it (or has no database), -2 when it cannot move the cursor (TERM=dumb). Writes nothing.
int hb_check_terminal(void);
/// endwin(); safe to call more than once.
void hb_end(void);
/// 1 when the locale's codeset is UTF-8.
int hb_is_utf8(void);
/// Number of colours (0 when has_colors() is false or colours were not started).
int hb_colors(void);
int hb_color_pairs(void);
/// init_pair / init_extended_pair; -1 means the terminal default colour.
int hb_init_pair(int pair, int foreground, int background);
/// Screen size of stdscr.
void hb_size(int *width, int *height);
/// Reads one key without blocking; returns the kind and stores a character in *character. In a locale that is not
/// UTF-8 each byte of a multi-byte character arrives on its own (the caller assembles UTF-8).
hb_key_kind hb_read_key(uint32_t *character);
/// Writes one cell (a grapheme of up to 4 code points) at (x, y) on stdscr.
int hb_put_cell(int x, int y, const uint32_t *codepoints, int count, int attributes, int pair);
/// wnoutrefresh(stdscr) + doupdate(): one terminal update per frame.
void hb_present(void);
/// Forget what is on the terminal so that the next present repaints everything (Ctrl-L).
void hb_invalidate(void);
/// Clears stdscr (after a resize).
void hb_clear(void);

/// Installs handlers for SIGINT, SIGTERM, SIGQUIT and SIGHUP that only record the signal.
void hb_install_signal_handlers(void);
/// Puts back the handlers that were installed before hb_install_signal_handlers.
void hb_restore_signal_handlers(void);
/// The last signal received (0 if none).
int hb_pending_signal(void);

#endif
