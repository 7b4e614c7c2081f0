using System.Linq;
using System.Text;
using ModelDsl.Binding;
using ModelDsl.Diagnostics;
using ModelDsl.Syntax;
using ModelDsl.Text;

namespace ModelDsl.Dsl.Tests.Binding
{
    /// <summary>
    /// "Did you mean" costs at most a fixed budget of work per file, however many names are undefined. The work is
    /// counted (candidates looked at plus edit-distance cells), not timed: before the budget, 40,000 undefined names
    /// in one model compared each with every name in scope (about 40,000² / 2 comparisons, minutes of `check`).
    /// </summary>
    public sealed class SuggestionCostTests
    {
        private static string UndefinedNames(int count)
        {
            var sb = new StringBuilder("model M {\n    input x: f32[B, 8]\n");
            for (int i = 0; i < count; i++) sb.Append("    a").Append(i).Append(" = b").Append(i).Append('\n');
            return sb.Append("    output x\n}\n").ToString();
        }

        private static (DiagnosticBag Diagnostics, SuggestionBudget Budget) Bind(string text)
        {
            var source = new SourceText("test.model", text);
            var diagnostics = new DiagnosticBag();
            var budget = new SuggestionBudget();
            Binder.Bind(ModelParser.Parse(source, diagnostics), source, diagnostics, budget);
            return (diagnostics, budget);
        }

        [Fact]
        public void Forty_thousand_undefined_names_cost_at_most_the_files_budget()
        {
            var (diagnostics, budget) = Bind(UndefinedNames(40_000));

            var undefined = diagnostics.Where(d => d.Id == "MDL0100").ToList();
            Assert.Equal(40_000, undefined.Count);
            // The cap holds to within one candidate's distance table (64 x 64 cells at most).
            Assert.True(budget.Spent <= SuggestionBudget.PerFile + 64 * 64, $"spent {budget.Spent:N0} units of suggestion work");
            // The uncapped search would have looked at sum(i) = 800 million candidates; the budget is what stopped it.
            Assert.True(budget.Exhausted);
            // Early names still get a suggestion (b100 is two edits from a10); late ones come without.
            Assert.Contains("did you mean 'a10'?", undefined.Single(d => d.Message.StartsWith("'b100' ")).Message);
            Assert.EndsWith("'b39999' is not defined", undefined.Single(d => d.Message.StartsWith("'b39999' ")).Message);
        }

        [Fact]
        public void An_ordinary_file_keeps_every_suggestion_far_below_the_budget()
        {
            var text = NameDiagnosticTests.Model("    logits = x -> dense(hiden) -> relu -> dens(clases)");
            var (diagnostics, budget) = Bind(text);

            Assert.Contains(diagnostics, d => d.Message.Contains("did you mean 'hidden'?"));
            Assert.Contains(diagnostics, d => d.Message.Contains("did you mean 'dense'?"));
            Assert.Contains(diagnostics, d => d.Message.Contains("did you mean 'classes'?"));
            Assert.True(budget.Spent < SuggestionBudget.PerFile / 100, $"spent {budget.Spent:N0} units");
        }

        [Fact]
        public void The_typo_warning_for_symbolic_dimensions_still_fires()
        {
            var text = "config { hidden = 64 }\nmodel M {\n    input x: f32[B, hiden]\n    output x\n}\n";
            var (diagnostics, _) = Bind(text);
            Assert.Contains(diagnostics, d => d.Id == "MDL0113" && d.Message.Contains("'hidden'"));
        }
    }
}
