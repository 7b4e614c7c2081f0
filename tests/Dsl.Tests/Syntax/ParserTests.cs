using System.Linq;
using ModelDsl.Syntax;
using static ModelDsl.Dsl.Tests.Syntax.SyntaxTestHelpers;

namespace ModelDsl.Dsl.Tests.Syntax
{
    /// <summary>Tree shape and spans for every construct of docs/language.md.</summary>
    public sealed class ParserTests
    {
        [Fact]
        public void Config_entries_keep_names_values_and_spans()
        {
            var (file, diagnostics, text) = ParseFile("config {\n    hidden = 256\n    ff = 4*d\n}\nmodel M { }");
            Assert.Equal(0, diagnostics.Count);
            var config = Assert.IsType<ConfigSyntax>(file.Declarations[0]);
            Assert.Equal("config {\n    hidden = 256\n    ff = 4*d\n}", text.ToString(config.Span));
            Assert.Equal(new[] { "hidden", "ff" }, config.Entries.Select(e => e.Name.Text));
            Assert.Equal("hidden = 256", text.ToString(config.Entries[0].Span));
            Assert.Equal("hidden", text.ToString(config.Entries[0].Name.Span));
            var value = Assert.IsType<NumberSyntax>(config.Entries[0].Value);
            Assert.True(value.IsInteger);
            Assert.Equal(256, value.Value);
            Assert.Equal("(4 * d)", Show(config.Entries[1].Value));
        }

        [Fact]
        public void Block_has_parameters_with_defaults_and_a_body()
        {
            var (file, diagnostics, text) = ParseFile("block Res(x, d, p = 0.1) {\n  y = x -> dense(d)\n  return x + y\n}\nmodel M { }");
            Assert.Equal(0, diagnostics.Count);
            var block = Assert.IsType<BlockSyntax>(file.Declarations[0]);
            Assert.Equal("Res", block.Name.Text);
            Assert.Equal("Res", text.ToString(block.Name.Span));
            Assert.Equal(new[] { "x", "d", "p" }, block.Parameters.Select(p => p.Name.Text));
            Assert.Null(block.Parameters[0].Default);
            Assert.Equal("p = 0.1", text.ToString(block.Parameters[2].Span));
            Assert.Equal(0.1, Assert.IsType<NumberSyntax>(block.Parameters[2].Default).Value);
            Assert.IsType<BindingSyntax>(block.Body[0]);
            var ret = Assert.IsType<ReturnSyntax>(block.Body[1]);
            Assert.Equal("return x + y", text.ToString(ret.Span));
            Assert.StartsWith("block Res(", text.ToString(block.Span));
            Assert.EndsWith("return x + y\n}", text.ToString(block.Span));
        }

        [Fact]
        public void Block_tensor_parameters_carry_their_type()
        {
            var (file, diagnostics, text) = ParseFile("block L(x: f32[B, T, d], mask: i32[B, T], heads, p = 0.1) {\n  return x\n}\nmodel M { }");
            Assert.Equal(0, diagnostics.Count);
            var block = Assert.IsType<BlockSyntax>(file.Declarations[0]);
            Assert.Equal(new[] { "x", "mask", "heads", "p" }, block.Parameters.Select(p => p.Name.Text));
            Assert.Equal("f32[B, T, d]", text.ToString(block.Parameters[0].Type!.Span));
            var mask = block.Parameters[1];
            Assert.Equal("mask: i32[B, T]", text.ToString(mask.Span));
            Assert.Equal("i32", mask.Type!.DType.Text);
            Assert.Equal(new[] { "B", "T" }, mask.Type.Dimensions.Select(d => text.ToString(d.Span)));
            Assert.Null(mask.Default);
            Assert.Null(block.Parameters[2].Type);
            Assert.Null(block.Parameters[3].Type);
            Assert.Equal("p = 0.1", text.ToString(block.Parameters[3].Span));
        }

        [Fact]
        public void A_block_parameter_colon_without_a_type_is_a_syntax_error_at_the_bad_token()
        {
            var d = AssertSyntaxDiagnostics("block L(x, mask: ⟦,⟧ heads) {\n  return x\n}\nmodel M { }", "MDL0001");
            Assert.Contains("element type", d[0].Message);
        }

        [Fact]
        public void Block_without_parameters_parses()
        {
            var (file, diagnostics, _) = ParseFile("block B() { return 1 }\nmodel M { }");
            Assert.Equal(0, diagnostics.Count);
            Assert.Empty(Assert.IsType<BlockSyntax>(file.Declarations[0]).Parameters);
        }

        [Fact]
        public void Model_span_covers_keyword_through_closing_brace()
        {
            var (file, _, text) = ParseFile("// header\nmodel Net {\n  output x\n}  // trailing\n");
            var model = Assert.IsType<ModelSyntax>(Assert.Single(file.Declarations));
            Assert.Equal("model Net {\n  output x\n}", text.ToString(model.Span));
            Assert.Equal("Net", text.ToString(model.Name.Span));
        }

        [Theory]
        [InlineData("input x: f32[B, 784]", false, "x", "f32", "B|784")]
        [InlineData("label y: i32[B]", true, "y", "i32", "B")]
        [InlineData("input t: f32[B, T, 4*d, d/heads]", false, "t", "f32", "B|T|(4 * d)|(d / heads)")]
        public void Input_and_label(string source, bool isLabel, string name, string dtype, string dims)
        {
            var (statement, text) = ParseStatement(source);
            var input = Assert.IsType<InputSyntax>(statement);
            Assert.Equal(isLabel, input.IsLabel);
            Assert.Equal(name, input.Name.Text);
            Assert.Equal(name, text.ToString(input.Name.Span));
            Assert.Equal(dtype, input.Type.DType.Text);
            Assert.Equal(dims, string.Join("|", input.Type.Dimensions.Select(Show)));
            Assert.Equal(source, text.ToString(input.Span));
            Assert.Equal(source.Substring(source.IndexOf(':') + 2), text.ToString(input.Type.Span));
        }

        [Fact]
        public void Binding_output_loss_optimizer_return()
        {
            var (model, text) = ParseModel("h = x\noutput h\nloss mse(h, y)\noptimizer sgd(lr=0.1)\nreturn h");
            var binding = Assert.IsType<BindingSyntax>(model.Body[0]);
            Assert.Equal("h", binding.Name.Text);
            Assert.Equal("h = x", text.ToString(binding.Span));
            Assert.Equal("output h", text.ToString(Assert.IsType<OutputSyntax>(model.Body[1]).Span));
            var loss = Assert.IsType<LossSyntax>(model.Body[2]);
            Assert.Equal("loss mse(h, y)", text.ToString(loss.Span));
            Assert.Equal("mse(h, y)", text.ToString(loss.Call.Span));
            var optimizer = Assert.IsType<OptimizerSyntax>(model.Body[3]);
            Assert.Equal("sgd(lr=0.1)", text.ToString(optimizer.Call.Span));
            Assert.Equal("lr", optimizer.Call.Arguments.Single().Name!.Text);
            Assert.Equal("return h", text.ToString(Assert.IsType<ReturnSyntax>(model.Body[4]).Span));
        }

        [Fact]
        public void Statements_may_share_a_line_and_be_separated_by_semicolons()
        {
            var (model, _) = ParseModel("a = 1 b = 2; c = 3;; output c");
            Assert.Equal(4, model.Body.Count);
            Assert.Equal(new[] { "a", "b", "c" }, model.Body.OfType<BindingSyntax>().Select(b => b.Name.Text));
        }

        [Theory]
        [InlineData("256", 256, true)]
        [InlineData("0.1", 0.1, false)]
        [InlineData("1e-3", 1e-3, false)]
        [InlineData("3.0E+2", 300, false)]
        [InlineData("9223372036854775807", 9223372036854775807d, true)]
        public void Numbers(string source, double value, bool isInteger)
        {
            var (expression, text) = ParseExpression(source);
            var number = Assert.IsType<NumberSyntax>(expression);
            Assert.Equal(source, number.Text);
            Assert.Equal(value, number.Value);
            Assert.Equal(isInteger, number.IsInteger);
            Assert.Equal(source, text.ToString(number.Span));
        }

        [Fact]
        public void Booleans()
        {
            Assert.True(Assert.IsType<BooleanSyntax>(ParseExpression("true").Expression).Value);
            Assert.False(Assert.IsType<BooleanSyntax>(ParseExpression("false").Expression).Value);
        }

        [Fact]
        public void Call_with_positional_and_named_arguments()
        {
            var (expression, text) = ParseExpression("dense( x, 10 , bias = false )");
            var call = Assert.IsType<CallSyntax>(expression);
            Assert.Equal("dense", text.ToString(call.Callee.Span));
            Assert.Equal("dense( x, 10 , bias = false )", text.ToString(call.Span));
            Assert.Equal(3, call.Arguments.Count);
            Assert.Null(call.Arguments[0].Name);
            Assert.Equal("bias", call.Arguments[2].Name!.Text);
            Assert.Equal("bias = false", text.ToString(call.Arguments[2].Span));
            Assert.Equal("10", text.ToString(call.Arguments[1].Span));
        }

        [Fact]
        public void Call_without_arguments()
        {
            var call = Assert.IsType<CallSyntax>(ParseExpression("relu()").Expression);
            Assert.Empty(call.Arguments);
        }

        [Fact]
        public void Chain_with_calls_names_and_repeat()
        {
            var (expression, text) = ParseExpression("x -> dense(256) -> relu\n   -> repeat layers Block(d, heads) -> repeat 2 gelu -> repeat (n*2) norm");
            var chain = Assert.IsType<ChainSyntax>(expression);
            Assert.Equal("chain(x -> dense(256) -> relu -> repeat(layers, Block(d, heads)) -> repeat(2, gelu) -> repeat((n * 2), norm))", Show(chain));
            Assert.Equal("x -> dense(256) -> relu\n   -> repeat layers Block(d, heads) -> repeat 2 gelu -> repeat (n*2) norm", text.ToString(chain.Span));
            Assert.IsType<NameSyntax>(chain.Stages[1]);
            var repeat = Assert.IsType<RepeatSyntax>(chain.Stages[2]);
            Assert.Equal("repeat layers Block(d, heads)", text.ToString(repeat.Span));
            Assert.Equal("Block(d, heads)", text.ToString(repeat.Stage.Span));
            Assert.Equal("(n*2)", text.ToString(Assert.IsType<RepeatSyntax>(chain.Stages[4]).Count.Span));
        }

        [Fact]
        public void Tuple_list_and_grouping()
        {
            var (expression, text) = ParseExpression("f((0.9, 0.999), [B, T, -1], (a))");
            var call = Assert.IsType<CallSyntax>(expression);
            var tuple = Assert.IsType<TupleSyntax>(call.Arguments[0].Value);
            Assert.Equal("(0.9, 0.999)", text.ToString(tuple.Span));
            Assert.Equal(2, tuple.Elements.Count);
            var list = Assert.IsType<ListSyntax>(call.Arguments[1].Value);
            Assert.Equal("[B, T, -1]", text.ToString(list.Span));
            Assert.Equal("[B, T, (-1)]", Show(list));
            var grouped = Assert.IsType<NameSyntax>(call.Arguments[2].Value);
            Assert.Equal("(a)", text.ToString(grouped.Span));
            Assert.Equal("a", text.ToString(grouped.Name.Span));
        }

        [Fact]
        public void Empty_list()
        {
            Assert.Empty(Assert.IsType<ListSyntax>(ParseExpression("[]").Expression).Elements);
        }

        [Fact]
        public void Member_access_for_weight_tying()
        {
            var (expression, text) = ParseExpression("dense(vocab, tie=tok.weight)");
            var member = Assert.IsType<MemberAccessSyntax>(Assert.IsType<CallSyntax>(expression).Arguments[1].Value);
            Assert.Equal("tok.weight", text.ToString(member.Span));
            Assert.Equal("weight", text.ToString(member.Member.Span));
            Assert.Equal("tok", Assert.IsType<NameSyntax>(member.Target).Name.Text);
        }

        [Fact]
        public void Binary_and_negate_spans()
        {
            var (expression, text) = ParseExpression("- a * (b + c)");
            var multiply = Assert.IsType<BinarySyntax>(expression);
            Assert.Equal("- a * (b + c)", text.ToString(multiply.Span));
            Assert.Equal("- a", text.ToString(Assert.IsType<NegateSyntax>(multiply.Left).Span));
            Assert.Equal("(b + c)", text.ToString(multiply.Right.Span));
        }

        [Theory]
        [InlineData("inputs = 1", "inputs")]
        [InlineData("model_size = 1", "model_size")]
        [InlineData("_x9 = 1", "_x9")]
        public void Names_may_contain_keywords(string source, string name)
        {
            Assert.Equal(name, Assert.IsType<BindingSyntax>(ParseStatement(source).Statement).Name.Text);
        }

        [Fact]
        public void File_span_covers_the_whole_text()
        {
            var (file, _, text) = ParseFile("  model M { }  \n");
            Assert.Equal(0, file.Span.Start);
            Assert.Equal(text.Length, file.Span.Length);
        }
    }
}
