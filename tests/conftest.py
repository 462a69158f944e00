from pathlib import Path

import pytest

#: the public benchmark data, read-only, beside the checkout (never copied into the project)
BENCHDATA = Path(__file__).resolve().parents[1].parent / "shared" / "benchdata"


def benchdata_path(*parts: str) -> Path:
    """``BENCHDATA / parts``; skips the calling test, naming the missing path, when absent.

    The one place the tests look for the benchmark data: call it where the data is
    needed (through the ``benchdata`` fixture), so the rest of a test still runs without it.
    """
    path = BENCHDATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"benchmark data not found: {path}")
    return path


@pytest.fixture
def benchdata():
    """The skip helper as a fixture: ``benchdata("mpl_25m")`` -> Path, or the test skips."""
    return benchdata_path


#: whole test files that run real processes, browsers, kernels or the demo (seconds each):
#: marked ``slow`` so that ``pytest -m "not slow"`` stays a quick loop; CI runs them all
SLOW_FILES = {
    "test_demo.py",            # the demo on the shipped runs, its report in a browser
    "test_report_browser.py",  # headless Chromium
    "test_notebook.py",        # three notebooks in a real kernel
    "test_docs_site.py",       # mkdocs builds and page examples
    "test_train_executors.py",  # process pools, Ray, submitit
    "test_train_sweep.py",     # sweeps killed and resumed in subprocesses
    "test_cli_readme.py",      # the README's examples, demo included
}
#: single tests of about half a second or more in otherwise quick files
SLOW_TESTS = {
    "test_ctrl_c_stops_a_parallel_bootstrap_at_once_and_writes_nothing",
    "test_demo_recovers_truth",
    "test_demo_files_honour_the_umask",
    "test_demo_creates_its_output_folder",
    "test_sigkill_and_resume_is_bit_identical",
    "test_memory_stays_a_small_multiple_of_the_file",
    "test_fit_on_valid_random_data_is_at_least_as_good_as_truth",
    "test_a_chinchilla_report_has_every_section_and_real_numbers",
    "test_report_shows_a_progress_bar_on_a_terminal_unless_quiet",
    "test_the_page_loads_nothing_from_anywhere",
    "test_progress_hook_counts_every_figure_and_refit",
    "test_same_input_gives_the_same_bytes",
    "test_the_cli_shows_a_bar_on_a_terminal_even_without_a_size",
    "test_default_bootstrap_starts_no_process",
    "test_hostile_column_and_run_names_are_escaped",
    "test_two_layer_run_reaches_entropy_rate_per_char",
    "test_report_command_gives_each_data_file_to_the_fits_it_serves",
    "test_no_pyplot_and_no_backend_change",
    "test_lr_fit_never_crashes",
    "test_the_same_inputs_give_the_same_bytes_and_timestamp_adds_a_date",
    "test_n_jobs_2_gives_the_serial_draws_on_forkserver_workers",
    "test_n_jobs_minus_one_is_all_cores",
    "test_bootstrap_with_pool_object_matches_serial",
    "test_chunked_ce_equals_cross_entropy",
    "test_fit_formula_where_fix_and_plot",
    "test_log_read_by_inspect_and_lr_fit",
    "test_multipower_anchor",
    "test_legends_cover_no_data",
    "test_chunked_ce_other_ignore_index_and_float64_exact",
    "test_a_long_bootstrap_prints_its_estimated_time",
    "test_figures_leave_rcparams_alone",
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.name in SLOW_FILES or item.originalname in SLOW_TESTS:
            item.add_marker(pytest.mark.slow)
