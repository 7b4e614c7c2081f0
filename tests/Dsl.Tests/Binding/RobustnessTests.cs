using System.Linq;
using ModelDsl.Binding;
using ModelDsl.Diagnostics;
using ModelDsl.Dsl.Tests.Support;
using ModelDsl.Syntax;
using ModelDsl.Text;
using static ModelDsl.Dsl.Tests.Binding.NameDiagnosticTests;

namespace ModelDsl.Dsl.Tests.Binding
{
    /// <summary>Recovery: many independent errors in one pass, no cascades, no exceptions, other models still returned.</summary>
    public class RobustnessTests
    {
        [Fact]
        public void Several_independent_errors_are_reported_in_one_pass()
        {
            AnnotatedText.AssertDiagnostics(Model(
                "    a = x -> dense(⟦hiden⟧)\n" +
                "    b = a -> relu -> dense(classes)\n" +           // depends on a: no cascade
                "    c = x -> ⟦dens⟧(4)\n" +
                "    d = x -> dropout(⟦2.0⟧)\n" +
                "    logits = x -> dense(classes) -> softmax(axis=⟦5⟧)"),
                "MDL0100", "MDL0102", "MDL0108", "MDL0309");
        }

        [Fact]
        public void A_model_with_errors_is_left_out_but_others_return()
        {
            var result = Compilation.Compile("test.model",
                "model Bad {\n    input x: f32[B, 4]\n    out = x -> dense(nope)\n    output out\n}\n" +
                "model Good {\n    input x: f32[B, 4]\n    out = x -> dense(2)\n    output out\n}");
            Assert.Equal("Good", Assert.Single(result.Models).Name);
            Assert.Contains(result.Diagnostics, d => d.Id == "MDL0100");
        }

        [Fact]
        public void Huge_numbers_and_overflow_become_diagnostics()
        {
            var d = AnnotatedText.AssertDiagnostics("config { big = 9223372036854775807  over = ⟦big * 2⟧ }\n" + Model("    logits = x -> dense(classes)"), "MDL0108");
            Assert.Contains("out of range", d[0].Message);
        }

        [Fact]
        public void Errors_inside_a_block_are_reported_once_at_the_block_line()
        {
            var d = AnnotatedText.AssertDiagnostics("block B(x) { return x -> dense(⟦widht⟧) }\n" + Model("    logits = x -> repeat 3 B -> dense(classes)"), "MDL0100");
            Assert.Contains("(in block B used on line", d[0].Message);
        }

        [Fact]
        public void Binder_never_throws_on_hand_built_broken_trees()
        {
            var span = new TextSpan(0, 0);
            var empty = new Identifier("", span);
            var tree = new ModelFileSyntax(new DeclarationSyntax[]
            {
                new ConfigSyntax(new[] { new ConfigEntrySyntax(empty, new NumberSyntax("99999999999999999999999", 1e23, true, span), span) }, span),
                new BlockSyntax(empty, new BlockParameterSyntax[0], new StatementSyntax[] { new ErrorStatementSyntax(span) }, span),
                new ModelSyntax(new Identifier("M", span), new StatementSyntax[]
                {
                    new ErrorStatementSyntax(span),
                    new InputSyntax(false, new Identifier("x", span), new TensorTypeSyntax(empty, new ExpressionSyntax[] { new NameSyntax(empty, span) }, span), span),
                    new BindingSyntax(new Identifier("h", span), new ChainSyntax(new NameSyntax(new Identifier("x", span), span), new ExpressionSyntax[] { new RepeatSyntax(new NumberSyntax("0", 0, true, span), new NameSyntax(empty, span), span) }, span), span),
                    new OutputSyntax(new BinarySyntax(new NumberSyntax("1", 1, true, span), BinaryOperator.Divide, new NumberSyntax("0", 0, true, span), span), span),
                    new LossSyntax(new CallSyntax(empty, new ArgumentSyntax[0], span), span),
                }, span),
            }, span);
            var bag = new DiagnosticBag();
            var models = Binder.Bind(tree, new SourceText("x.model", ""), bag);
            Assert.Empty(models);
            Assert.True(bag.HasErrors);
        }

        [Fact]
        public void A_one_MiB_model_binds_quickly()
        {
            var sb = new System.Text.StringBuilder("config { d = 16 }\nmodel Big {\n    input x: f32[B, 64]\n    h0 = x\n");
            int i = 0;
            while (sb.Length < 1024 * 1024 - 200)
            {
                sb.Append("    h").Append(i + 1).Append(" = h").Append(i).Append(" -> dense(4*d, bias=false) -> relu -> dropout(0.1)\n");
                i++;
            }
            sb.Append("    output h").Append(i).Append("\n}\n");
            var watch = System.Diagnostics.Stopwatch.StartNew();
            var result = Compilation.Compile("big.model", sb.ToString());
            watch.Stop();
            // Bound and checked in full; its only error is that code generation refuses this many ops (MDL0117), reported
            // at the model's name, before any plan is built.
            var error = Assert.Single(result.Diagnostics, d => d.IsError);
            Assert.Equal("MDL0117", error.Id);
            Assert.Contains($"model 'Big' unrolls to {3 * i:N0} ops", error.Message);
            Assert.True(watch.Elapsed.TotalSeconds < 10, $"parse + bind of 1 MiB took {watch.Elapsed.TotalMilliseconds:F0} ms");
        }

        [Fact]
        public void Nested_repeats_stop_at_the_operation_limit_quickly()
        {
            var watch = System.Diagnostics.Stopwatch.StartNew();
            var result = Compilation.Compile("test.model",
                "block A(x) { return x -> repeat 1024 relu }\nblock C(x) { return x -> repeat 1024 A }\n" +
                "model M {\n    input x: f32[B, 4]\n    out = x -> repeat 1024 C\n    output out\n}");
            Assert.Contains(result.Diagnostics, d => d.Id == "MDL0112");
            Assert.Empty(result.Models);
            Assert.True(watch.Elapsed.TotalSeconds < 10);
        }
    }
}
