using System;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using ModelDsl.Diagnostics;

namespace ModelDsl.Dsl.Tests
{
    /// <summary>Keeps the diagnostic catalogue, its documentation and its tests in step.</summary>
    public sealed class CatalogTests
    {
        private static readonly string RepoRoot = FindRepoRoot();

        [Fact]
        public void Ids_are_unique_sequential_within_their_range_and_well_formed()
        {
            var ids = DiagnosticCatalog.All.Select(d => d.Id).ToList();
            Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
            Assert.All(ids, id => Assert.Matches(@"^MDL\d{4}$", id));
            Assert.Equal(ids.OrderBy(i => i, StringComparer.Ordinal), ids);
        }

        [Fact]
        public void Every_id_is_documented_with_an_example()
        {
            var doc = File.ReadAllText(Path.Combine(RepoRoot, "docs", "diagnostics.md"));
            foreach (var d in DiagnosticCatalog.All)
            {
                var heading = $"## {d.Id}: {d.Title}";
                Assert.True(doc.Contains(heading), $"docs/diagnostics.md has no heading '{heading}'");
                var section = doc.Substring(doc.IndexOf(heading, StringComparison.Ordinal));
                int next = section.IndexOf("\n## ", 1, StringComparison.Ordinal);
                if (next > 0) section = section.Substring(0, next);
                Assert.True(section.Contains("```"), $"docs/diagnostics.md: {d.Id} has no example");
            }
        }

        [Fact]
        public void Every_id_has_a_test_that_marks_its_span()
        {
            // A test "for" an ID is an AnnotatedText.AssertDiagnostics call naming it (the span is marked in the source).
            var sources = Directory.GetFiles(Path.Combine(RepoRoot, "tests", "Dsl.Tests"), "*.cs", SearchOption.AllDirectories)
                .Where(f => !f.Contains(Path.DirectorySeparatorChar + "obj" + Path.DirectorySeparatorChar))
                .Select(File.ReadAllText)
                .ToList();
            var asserted = new Regex("Assert(?:Syntax)?Diagnostics\\((?:[^;]|\\n)*?\"(MDL\\d{4})\"[^;]*");
            var covered = sources.SelectMany(s => asserted.Matches(s).Cast<Match>().SelectMany(m => Regex.Matches(m.Value, "MDL\\d{4}").Cast<Match>().Select(x => x.Value))).ToHashSet();
            var missing = DiagnosticCatalog.All.Select(d => d.Id).Where(id => !covered.Contains(id)).ToList();
            Assert.True(missing.Count == 0, "no AssertDiagnostics test for: " + string.Join(", ", missing));
        }

        private static string FindRepoRoot()
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "ModelDsl.sln"))) dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("ModelDsl.sln not found");
        }
    }
}
