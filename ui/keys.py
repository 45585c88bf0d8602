"""Every session-state key the app uses, named once, grouped by the page (or shared part) that owns it.

A widget's key= is a session-state key too (Streamlit keeps the widget's value there), and so is a container's or a
form's key (tests and the browser find elements by it): all of them are here. The values are the strings the app has
always used; tests, bookmarks and the browser tests still name them literally, so a value never changes.

Keys that one page writes and another reads say so in their comment. The selected model (MODEL_PATH) is written by
ui.state.select_model only (the sidebar's picker, a widget keyed MODEL_PATH, aside); a test checks that.
Keys made per item (a digit, a β, a lesson) are functions of that item.
"""
from __future__ import annotations

# ---- the shared sidebar (ui.state.sidebar, drawn by router.py on every page) ----------------------------------------
DATASET = "dataset"  # the selected model's dataset (select_model, the sidebar); Train's default
MODEL_PATH = "model_path"  # the Model select: the selected checkpoint's path (written by ui.state.select_model)
LARGE_TYPE = "large_type"  # the "Large type (projector)" toggle; every page reads it
CHECKPOINT_UPLOAD = "checkpoint_upload"  # the "Load your own checkpoint" uploader
CHECKPOINT_UPLOAD_OPEN = "checkpoint_upload_open"  # whether the sidebar's expander holding that uploader is open
CHECKPOINT_UPLOAD_RESULT = "checkpoint_upload_result"  # ("error" | "success", message) of the last upload


def label_shown(key: str) -> str:
    """The label a keyed selectbox was last drawn with (ui.state.resend_if_relabelled)."""
    return f"_label_shown_{key}"


# ---- a shared link (ui.share): read once per session, applied on the Explore page ----------------------------------
LINK_READ = "link_read"  # the link's query was read (once per session)
LINK_Z = "link_z"  # the link's z, waiting for the Explore page to know the latent size
LINK_DIGIT = "link_digit"  # the link's selected test digit, waiting likewise
LINK_NOTES = "link_notes"  # what the link had that was ignored, shown by the Explore page

# ---- classroom lessons (ui.lessons, its sidebar picker and box; app_pages/lessons.py) ------------------------------
LESSON = "lesson"  # the active lesson's number, 0 when none
LESSON_GOTO = "lesson_goto"  # the page a lesson callback asked to switch to (router.py follows it)
LESSON_PICKER = "lesson_picker"  # the sidebar's lesson select
LESSON_BOX = "lesson_box"  # the lesson box (a container)
LESSON_SCROLL = "lesson_scroll"  # set when a lesson starts: its page scrolls to the top once (ui.lessons)
LESSON_SCROLLER = "lesson_scroller"  # the hidden container of that scroll's script
LESSON_BUTTONS = "lesson_buttons"  # its row of buttons (a container)
LESSON_PREV = "lesson_prev"
LESSON_NEXT = "lesson_next"
LESSON_END = "lesson_end"  # the box's "End lesson"
LESSON_END_ALL = "lesson_end_all"  # the lessons page's "End the current lesson"

# The shared sidebar's widgets: a page switch made by the script would reset them (ui.lessons.follow_lesson_switch).
SIDEBAR = (MODEL_PATH, CHECKPOINT_UPLOAD_OPEN, LARGE_TYPE, LESSON_PICKER)


def lesson_start(number: int) -> str:
    """The lessons page's Start / Continue button of one lesson."""
    return f"lesson_start_{number}"


# ---- Explore (app_pages/explore.py) ------------------------------------------------------------------------------
EXPLORE_VIEW = "explore_view"  # above 2-D: the PCA plane, t-SNE or two dimensions
TSNE_READY = "tsne_ready"  # the sha256 of the model whose t-SNE view was asked for
COMPUTE_TSNE = "compute_tsne"
PAD_I = "pad_i"  # the surface's two dimensions, in that view
PAD_J = "pad_j"
LATENT_PAD = "latent_pad"  # the surface (a component): its z, selected digit and mark
PAD_START = "pad_start"  # where the surface puts z (written by a shared link) ...
PAD_NONCE = "pad_nonce"  # ... applied when this number changes
EXPLORE_DIGIT = "explore_digit"  # the selected test digit; also set by the maths page's digit and a shared link ...
SELECT_NONCE = "select_nonce"  # ... which the surface selects when this number changes
SELECT_ASKED = "select_asked"  # the selection last passed to the surface: {"nonce", "digit"}
EXPLORE_HEARD = "explore_heard"  # what Python last heard from the surface: {"z", "selected", "sent"}
DOWNLOAD_MAP = "download_map"
DIGIT_TO_A = "digit_to_a"  # "Interpolate from it" / "to it", under the selected digit
DIGIT_TO_B = "digit_to_b"
EXPLORE_MORE = "explore_more"  # whether the expander under the surface, holding the tabs below, is open
EXPLORE_TAB = "explore_tab"  # the tab open under the surface (only it is computed)
MANIFOLD_N = "manifold_n"  # Decoded manifold tab
MANIFOLD_PLANE = "manifold_plane"
MANIFOLD_I = "manifold_i"
MANIFOLD_J = "manifold_j"
DOWNLOAD_MANIFOLD = "download_manifold"
PRIOR_SEED = "prior_seed"  # Prior samples tab
PRIOR_NEW = "prior_new"
INTERP_A = "interp_a"  # Interpolation tab (A and B also set by the buttons under a selected digit)
INTERP_B = "interp_b"
INTERP_STEPS = "interp_steps"
# The widgets of each tab under the surface, by tab (ui.pages.EXPLORE_TABS): kept while not drawn
EXPLORE_TAB_WIDGETS = ((MANIFOLD_N, MANIFOLD_PLANE, MANIFOLD_I, MANIFOLD_J), (), (INTERP_A, INTERP_B, INTERP_STEPS))

# ---- Reconstruct a digit (app_pages/reconstruct.py) ----------------------------------------------------------------
GALLERY_MODE = "gallery_mode"  # Test digits tab
GALLERY_CLASS = "gallery_class"
GALLERY_NEW = "gallery_new"
GALLERY_SEED = "gallery_seed"  # bumped by "New digits"
GALLERY_DOWNLOAD = "gallery_download"
UPLOAD_FILES = "upload_files"  # Upload images tab
DRAW_CANVAS = "draw_canvas"  # Draw a digit tab (a component)
# One digit's result (digit_result) is keyed under a prefix: upload_digit(i) for the i-th upload, DRAWN_DIGIT for the
# drawing. One map of your digits and its download (posterior_map, download_reconstructions): UPLOAD_MAP or DRAW_MAP.
DRAWN_DIGIT = "drawn"
UPLOAD_MAP = "upload"
DRAW_MAP = "draw"


def upload_digit(i: int) -> str:
    return f"upload{i}"


def digit_eps(prefix: str) -> str:
    """The draw of ε for one digit (bumped by its Resample button)."""
    return f"{prefix}_eps"


def digit_resample(prefix: str) -> str:
    return f"{prefix}_resample"


def map_highlight(prefix: str) -> str:
    """The highlighted digit of a map (its Highlight radio)."""
    return f"{prefix}_highlight"


def map_surface(prefix: str) -> str:
    """The map (a latent-pad component)."""
    return f"{prefix}_surface"


def map_mark_heard(prefix: str) -> str:
    """The mark last clicked on the map, as Python heard it."""
    return f"{prefix}_mark_heard"


def map_download(prefix: str) -> str:
    return f"{prefix}_download"


# ---- KL lab (app_pages/kl_lab.py) --------------------------------------------------------------------------------
KL_LAB_TAB = "kl_lab_tab"  # the open tab (its label, ui.pages.KL_LAB_TABS); set by lessons
KL_LAB_BETAS = "kl_lab_betas"  # a lesson's narrower sweep, e.g. [0, 1, 4]; none: every β
KL_LAB_DIAL = "kl_lab_dial"  # β dial tab (a component)
KL_LAB_AXIS = "kl_lab_axis"  # Trained separately tab
KL_LAB_GRID = "kl_lab_grid"
KL_LAB_SEED = "kl_lab_seed"
KL_RD_CHART = "kl_rd_chart"  # Rate–distortion tab
KL_RD_TABLE = "kl_rd_table"
KL_SIGMA_CHART = "kl_sigma_chart"  # Posterior width tab
KL_LAB_MODEL = "kl_lab_model"  # KL per dimension tab (its own model select, first set to the sidebar's model)
KL_DIM_CHART = "kl_dim_chart"
KL_LAB_HOLES_MODEL = "kl_lab_holes_model"  # Holes map tab: the 2-D model shown (set by lesson 4)
KL_LAB_HOLES_VIEW = "kl_lab_holes_view"
KL_LAB_HOLES_CHART = "kl_lab_holes_chart"  # the chart, with its selection (a click on a hole)
KL_LAB_HOLE = "kl_lab_hole"  # the hole decoded (its select)
KL_LAB_HOLE_MODEL = "kl_lab_hole_model"  # the model KL_LAB_HOLE belongs to
KL_LAB_LAST_CLICK = "kl_lab_last_click"  # the chart's last click, so an old one cannot undo the select


def kl_map(beta: float) -> str:
    """The latent map of one β, Trained separately tab."""
    return f"kl_map_{beta}"


# ---- The maths, live (app_pages/maths.py) ------------------------------------------------------------------------
MATHS_TAB = "maths_tab"  # the open tab (its label, ui.pages.MATHS_TABS); set by lessons
MATHS_DIGIT = "maths_digit"  # the test digit; starts at, and sets, Explore's EXPLORE_DIGIT
MATHS_N = "maths_n"
MATHS_K = "maths_k"
MATHS_ENCODER_TABLE = "maths_encoder_table"  # Encoder output tab
MATHS_ENCODER_CHART = "maths_encoder_chart"
MATHS_EPS_SEED = "maths_eps_seed"  # Reparameterisation tab (also the Closed-form KL tab's Monte-Carlo seed)
MATHS_DRAW_EPS = "maths_draw_eps"
MATHS_MC_N = "maths_mc_n"  # Closed-form KL tab
MATHS_KL_TABLE = "maths_kl_table"

# ---- Train a VAE (app_pages/train.py) ----------------------------------------------------------------------------
TR_PRESET = "tr_preset"  # the recipe; removing it makes the page load its default (lesson 5 does)
TR_DATASET = "tr_dataset"  # starts at DATASET, the selected model's dataset
TRAIN_FORM = "train_form"  # the settings form (st.form's key), with these fields:
TR_NAME = "tr_name"
TR_ARCH = "tr_arch"
TR_HIDDEN = "tr_hidden"
TR_LATENT = "tr_latent"
TR_BETA = "tr_beta"
TR_KL_WARMUP = "tr_kl_warmup"
TR_EPOCHS = "tr_epochs"
TR_BATCH = "tr_batch"
TR_LR = "tr_lr"
TR_SEED = "tr_seed"
TR_BINARIZE = "tr_binarize"
TR_SUBSET = "tr_subset"
TR_ERROR = "tr_error"  # why Start did not start
TRAIN_RUN = "train_run"  # the Run select: the run shown
TR_MINE = "tr_mine"  # the runs this browser tab started or resumed (stopping another's asks first)
TR_CONFIRM_STOP = "tr_confirm_stop"  # the run whose stop is being asked about
TR_STOP = "tr_stop"
TR_STOP_YES = "tr_stop_yes"
TR_STOP_NO = "tr_stop_no"
TR_RESUME = "tr_resume"
TR_USE = "tr_use"  # "Use in the sidebar"
TR_POLLING = "tr_polling"  # the run panel's polling interval, None once the run is over
TR_CURVES = "tr_curves"
TR_LIVE_MAP = "tr_live_map"
TR_REPLAY = "tr_replay"
TR_REPLAY_EPOCH = "tr_replay_epoch"  # the replay's epoch slider
TR_REPLAY_PLAY = "tr_replay_play"  # its Play / Pause button
TR_REPLAY_PLAYING = "tr_replay_playing"  # the run the replay is playing (None: paused)
TR_REPLAY_STEPPED = "tr_replay_stepped"  # whether the replay's next run steps an epoch (a tick, not Play itself)
TR_REPLAY_CLASSES = "tr_replay_classes"  # the digits it shows (pills)
TR_REFRESH = "tr_refresh"
