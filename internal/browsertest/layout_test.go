package browsertest_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	bt "github.com/hookline/hookline/internal/browsertest"
)

const layoutPage = `<!doctype html><html><head><style>
body { font: 14px sans-serif; margin: 20px; }
table { table-layout: fixed; width: 400px; border-collapse: collapse; }
td, th { padding: 4px; border: 1px solid #ccc; }
.wrap td { overflow-wrap: anywhere; }
.cut { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.pair { position: relative; height: 40px; width: 400px; }
.pair > div { position: absolute; top: 0; width: 150px; height: 30px; }
</style></head><body>
<table id="good" class="wrap"><tr><th>Endpoint</th><th>Cap</th></tr>
<tr><td>http://127.0.0.1:9/a-very-long-path-without-any-break-at-all-in-it-whatsoever</td><td>64</td></tr></table>
<table id="spill"><tr><td>ep_2Ug6JqzK8ODiTcjjwTnnbxbxqDhXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX</td><td>1</td></tr></table>
<table id="ellipsis"><tr><td class="cut">ep_2Ug6JqzK8ODiTcjjwTnnbxbxqDh and the rest of a long text that does not fit</td><td>1</td></tr></table>
<div id="overlap" class="pair"><div data-layout style="left:0">one</div><div data-layout style="left:100px">two</div></div>
</body></html>`

// TestCheckLayout: the layout check passes a table whose long text wraps,
// and reports a cell whose text spills out, a cell cut with an ellipsis
// and two boxes that overlap.
func TestCheckLayout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(layoutPage))
	}))
	defer srv.Close()
	b := bt.New(t)
	p := b.Tab("layout")
	p.Do("open", chromedp.Navigate(srv.URL), chromedp.WaitVisible(chromedp.CSS("#good")))
	if got := bt.LayoutProblems(p, "#good"); len(got) != 0 {
		t.Errorf("a table that wraps its text: %q", got)
	}
	for sel, want := range map[string]string{
		"#spill":    "wide in a box",
		"#ellipsis": "cut with an ellipsis",
		"#overlap":  "overlap",
		"#missing":  "no element matches",
	} {
		got := strings.Join(bt.LayoutProblems(p, sel), "\n")
		if !strings.Contains(got, want) {
			t.Errorf("%s: problems %q, want one with %q", sel, got, want)
		}
	}
	b.CheckNoErrors()
}
