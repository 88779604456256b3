#define _XOPEN_SOURCE_EXTENDED 1
#define NCURSES_WIDECHAR 1
#include <locale.h>
#include <langinfo.h>
#include <signal.h>
#include <string.h>
#include <wchar.h>
#include <ncursesw/curses.h>
#include <ncursesw/term.h>
#include "CNCursesShim.h"

static int hb_started = 0;
static SCREEN *hb_screen = NULL;
static int hb_color_started = 0;
static volatile sig_atomic_t hb_signal = 0;

int hb_check_terminal(void) {
    int error = 0;
    // Output to /dev/null's descriptor is not needed: setupterm only reads terminfo and writes nothing.
    if (setupterm(NULL, 1, &error) != OK) return -1;
    const char *cup = tigetstr("cup");
    int addressable = cup != NULL && cup != (char *)-1;
    del_curterm(cur_term);
    cur_term = NULL;
    return addressable ? 0 : -2;
}

static int hb_utf8 = 0;

int hb_begin(int want_color) {
    setlocale(LC_ALL, "");
    hb_utf8 = hb_is_utf8();
    // newterm rather than initscr: initscr exits the process when TERM is unusable; newterm returns NULL.
    hb_screen = newterm(NULL, stdout, stdin);
    if (hb_screen == NULL) return -1;
    set_term(hb_screen);
    hb_started = 1;
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    set_escdelay(25);
    curs_set(0);
    if (want_color && has_colors()) {
        if (start_color() == OK) {
            use_default_colors();
            hb_color_started = 1;
        }
    }
    return 0;
}

void hb_end(void) {
    if (hb_started) {
        curs_set(1);
        endwin();
        delscreen(hb_screen);
        hb_screen = NULL;
        hb_started = 0;
    }
}

int hb_is_utf8(void) {
    const char *codeset = nl_langinfo(CODESET);
    return codeset != NULL && (strcmp(codeset, "UTF-8") == 0 || strcmp(codeset, "utf8") == 0);
}

int hb_colors(void) { return hb_color_started ? COLORS : 0; }
int hb_color_pairs(void) { return hb_color_started ? COLOR_PAIRS : 0; }

int hb_init_pair(int pair, int foreground, int background) {
#if NCURSES_EXT_COLORS
    return init_extended_pair(pair, foreground, background);
#else
    return init_pair((short)pair, (short)foreground, (short)background);
#endif
}

void hb_size(int *width, int *height) {
    // Not "rows" and "columns": term.h defines those names as macros.
    int height_cells = 0, width_cells = 0;
    getmaxyx(stdscr, height_cells, width_cells);
    *width = width_cells < 0 ? 0 : width_cells;
    *height = height_cells < 0 ? 0 : height_cells;
}

hb_key_kind hb_read_key(uint32_t *character) {
    wint_t code = 0;
    int result;
    *character = 0;
    if (hb_utf8) {
        result = wget_wch(stdscr, &code);
    } else {
        // Outside UTF-8 wget_wch cannot decode a multi-byte character (it drops it, and what follows): read bytes.
        int byte = wgetch(stdscr);
        if (byte == ERR) return HB_KEY_NONE;
        result = byte >= KEY_MIN ? KEY_CODE_YES : OK;
        code = (wint_t)byte;
    }
    if (result == ERR) return HB_KEY_NONE;
    if (result == KEY_CODE_YES) {
        switch (code) {
        case KEY_UP: return HB_KEY_UP;
        case KEY_DOWN: return HB_KEY_DOWN;
        case KEY_LEFT: return HB_KEY_LEFT;
        case KEY_RIGHT: return HB_KEY_RIGHT;
        case KEY_BTAB: return HB_KEY_BACKTAB;
        case KEY_RESIZE: return HB_KEY_RESIZE;
        case KEY_BACKSPACE: return HB_KEY_BACKSPACE;
        case KEY_ENTER: return HB_KEY_ENTER;
        case KEY_DC: return HB_KEY_DELETE;
        case KEY_PPAGE: return HB_KEY_PAGE_UP;
        case KEY_NPAGE: return HB_KEY_PAGE_DOWN;
        case KEY_HOME: return HB_KEY_HOME;
        case KEY_END: return HB_KEY_END;
        default: return HB_KEY_OTHER;
        }
    }
    *character = (uint32_t)code;
    return HB_KEY_CHARACTER;
}

int hb_put_cell(int x, int y, const uint32_t *codepoints, int count, int attributes, int pair) {
    wchar_t text[CCHARW_MAX + 1];
    int length = 0;
    for (int index = 0; index < count && length < CCHARW_MAX; index++) text[length++] = (wchar_t)codepoints[index];
    text[length] = 0;
    attr_t attrs = A_NORMAL;
    if (attributes & HB_ATTR_BOLD) attrs |= A_BOLD;
    if (attributes & HB_ATTR_REVERSE) attrs |= A_REVERSE;
    if (attributes & HB_ATTR_UNDERLINE) attrs |= A_UNDERLINE;
    cchar_t cell;
    int pairValue = pair;
#if NCURSES_EXT_COLORS
    if (setcchar(&cell, text, attrs, 0, &pairValue) != OK) return -1;
#else
    (void)pairValue;
    if (setcchar(&cell, text, attrs, (short)pair, NULL) != OK) return -1;
#endif
    return mvwadd_wch(stdscr, y, x, &cell);
}

void hb_present(void) {
    wnoutrefresh(stdscr);
    doupdate();
}

void hb_invalidate(void) { clearok(curscr, TRUE); }
void hb_clear(void) { werase(stdscr); }

static void hb_record_signal(int signal_number) { hb_signal = signal_number; }

static const int hb_signals[4] = { SIGINT, SIGTERM, SIGQUIT, SIGHUP };
static struct sigaction hb_previous[4];
static int hb_installed = 0;

void hb_install_signal_handlers(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = hb_record_signal;
    sigemptyset(&action.sa_mask);
    hb_signal = 0;
    for (int index = 0; index < 4; index++) sigaction(hb_signals[index], &action, &hb_previous[index]);
    hb_installed = 1;
}

void hb_restore_signal_handlers(void) {
    if (!hb_installed) return;
    for (int index = 0; index < 4; index++) sigaction(hb_signals[index], &hb_previous[index], NULL);
    hb_installed = 0;
}

int hb_pending_signal(void) { return (int)hb_signal; }
