using System;
using System.Diagnostics;
using System.Linq;
using System.Text;
using System.Threading;
using ModelDsl.Syntax;
using static ModelDsl.Dsl.Tests.Syntax.SyntaxTestHelpers;

namespace ModelDsl.Dsl.Tests.Syntax
{
    /// <summary>Runs the timing test alone, so the other tests' 100,000-term inputs do not share its two cores.</summary>
    [CollectionDefinition(nameof(TimingCollection), DisableParallelization = true)]
    public sealed class TimingCollection { }

    /// <summary>No input may crash, hang or blow up: limits become diagnostics, and big valid files are fast.</summary>
    [Collection(nameof(TimingCollection))]
    public sealed class SafetyTests
    {
        private static CompilationResult Compile(string source) => Compilation.Compile("test.model", source);

        private static string[] Ids(CompilationResult result) => SyntaxDiagnostics(result).Select(d => d.Id).ToArray();

        [Fact]
        public void One_MiB_of_valid_statements_parses_quickly()
        {
            var sb = new StringBuilder("config {\n    d = 16\n}\nmodel Big {\n    input x: f32[B, d]\n");
            int count = 0;
            while (sb.Length < 1024 * 1024 - 200)
            {
                sb.Append("    h").Append(count).Append(" = (x -> dense(4*d, bias=false) -> relu /* c */ -> dropout(0.1)) + -x.y // note\n");
                count++;
            }
            sb.Append("    output x\n}\n");
            string source = sb.ToString();
            Assert.True(Encoding.UTF8.GetByteCount(source) <= 1024 * 1024);

            ParseFile("model Warm { output x }"); // exclude JIT of the grammar from the measurement
            var watch = Stopwatch.StartNew();
            var (file, diagnostics, _) = ParseFile(source);
            watch.Stop();

            Assert.Equal(0, diagnostics.Count);
            var model = Assert.IsType<ModelSyntax>(file.Declarations[1]);
            Assert.Equal(count + 2, model.Body.Count);
            // About 0.5 s in Release and 1.3 s in the Debug build the tests use, on a 2-core machine.
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(3), $"parsing 1 MiB took {watch.Elapsed.TotalMilliseconds:F0} ms");
        }

        [Theory]
        [InlineData('(', ')')]
        [InlineData('[', ']')]
        [InlineData('{', '}')]
        public void Hundred_thousand_nested_brackets_are_a_diagnostic(char open, char close)
        {
            string source = "model M {\n    a = " + new string(open, 100_000) + "1" + new string(close, 100_000) + "\n}\n";
            Assert.Equal(new[] { "MDL0003" }, Ids(Compile(source)));
        }

        [Fact]
        public void Nesting_at_the_limit_parses_on_a_small_stack()
        {
            // 1 level for the model's '{' + 63 calls, the deepest legal nesting, parsed on a 1 MiB thread (the
            // smallest default stack of the hosts the generator runs in).
            string source = "model M {\n    a = " + string.Concat(Enumerable.Repeat("f(", 63)) + "1" + new string(')', 63) + "\n}\n";
            CompilationResult? result = null;
            Exception? error = null;
            var thread = new Thread(() =>
            {
                try { result = Compile(source); }
                catch (Exception e) { error = e; }
            }, 1024 * 1024);
            thread.Start();
            thread.Join();
            Assert.Null(error);
            Assert.NotNull(result);
            Assert.Empty(SyntaxDiagnostics(result));
            var binding = Assert.IsType<BindingSyntax>(Assert.IsType<ModelSyntax>(result.Syntax!.Declarations[0]).Body[0]);
            Assert.IsType<CallSyntax>(binding.Value);
        }

        [Theory]
        [InlineData("1+")]
        [InlineData("1*")]
        [InlineData("x-")]
        [InlineData("-")]
        [InlineData("a.")]
        public void Hundred_thousand_term_expressions_are_a_diagnostic(string unit)
        {
            string expression = string.Concat(Enumerable.Repeat(unit, 100_000)) + "x";
            var result = Compile("model M {\n    a = " + expression + "\n    output a\n}\n");
            Assert.Equal(new[] { "MDL0003" }, Ids(result));
            var model = Assert.IsType<ModelSyntax>(result.Syntax!.Declarations[0]);
            Assert.IsType<ErrorStatementSyntax>(model.Body[0]);
            Assert.IsType<OutputSyntax>(model.Body[1]);
        }

        [Fact]
        public void Hundred_thousand_chain_stages_are_flat_and_fine()
        {
            string chain = "x" + string.Concat(Enumerable.Repeat(" -> relu", 100_000));
            var (statement, _) = ParseStatement("a = " + chain);
            Assert.Equal(100_000, Assert.IsType<ChainSyntax>(Assert.IsType<BindingSyntax>(statement).Value).Stages.Count);
        }

        [Fact]
        public void Deep_expressions_in_config_and_parameter_defaults_are_dropped_not_kept()
        {
            string deep = string.Concat(Enumerable.Repeat("-", 1000)) + "1";
            var result = Compile("config {\n    a = " + deep + "\n    b = 2\n}\nblock B(x, p = " + deep + ") {\n    return x\n}\nmodel M { output x }\n");
            Assert.Equal(new[] { "MDL0003", "MDL0003" }, Ids(result));
            var config = Assert.IsType<ConfigSyntax>(result.Syntax!.Declarations[0]);
            Assert.Equal("b", Assert.Single(config.Entries).Name.Text);
            Assert.Null(Assert.IsType<BlockSyntax>(result.Syntax.Declarations[1]).Parameters[1].Default);
        }

        [Fact]
        public void A_megabyte_number_is_one_diagnostic()
        {
            string digits = new string('9', 1024 * 1000);
            var result = Compile("model M {\n    a = " + digits + "\n    output a\n}\n");
            Assert.Equal(new[] { "MDL0002" }, Ids(result));
            Assert.StartsWith("integer literal '999", SyntaxDiagnostics(result)[0].Message);
            Assert.True(SyntaxDiagnostics(result)[0].Message.Length < 120);
        }

        [Fact]
        public void Unclosed_calls_do_not_backtrack_exponentially()
        {
            string source = "model M {\n    a = " + string.Concat(Enumerable.Repeat("f(g(x, (y, [z, ", 12)) + "\n}\n";
            var watch = Stopwatch.StartNew();
            var result = Compile(source);
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2), watch.Elapsed.ToString());
            Assert.Equal(new[] { "MDL0001" }, Ids(result));
        }

        [Fact]
        public void Many_broken_lines_are_fast()
        {
            string source = "model M {\n" + string.Concat(Enumerable.Repeat("    a = ) ( ] [ -> = + repeat\n", 20_000)) + "}\n";
            var watch = Stopwatch.StartNew();
            var result = Compile(source);
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(3), watch.Elapsed.ToString());
            Assert.Equal(20_000, SyntaxDiagnostics(result).Count);
        }
    }
}
