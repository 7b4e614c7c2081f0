using System.Collections.Generic;
using System.Linq;
using Sprache;

namespace ModelDsl.Syntax
{
    /// <summary>
    /// Top-level declarations: <c>config { ... }</c>, <c>block Name(params) { ... }</c>, <c>model Name { ... }</c>.
    /// Bodies are read by <see cref="Recovery.Braced{T}"/>, which reports a broken statement and goes on.
    /// </summary>
    internal static class DeclarationGrammar
    {
        /// <summary><c>hidden = 256</c></summary>
        private static readonly Parser<ConfigEntrySyntax> ConfigEntry =
            (from name in Lexical.Identifier
             from eq in Lexical.Symbol('=')
             from value in ExpressionGrammar.Expression
             select new ConfigEntrySyntax(name, value, name.Span.Cover(value.Span))).Named("constant ('name = value')");

        private static readonly Parser<DeclarationSyntax> Config =
            from keyword in Lexical.Keyword("config")
            from body in Recovery.Braced(ConfigEntry, errorNode: null, validate: (entry, context) => SyntaxLimits.Check(entry, context) ? entry : null)
            select (DeclarationSyntax)new ConfigSyntax(body.Items, keyword.Cover(body.Close));

        /// <summary>A statement body; a statement that fails to parse or is too deep becomes an <see cref="ErrorStatementSyntax"/>.</summary>
        private static readonly Parser<(IReadOnlyList<StatementSyntax> Items, Text.TextSpan Close)> Body =
            Recovery.Braced(
                StatementGrammar.Statement,
                errorNode: span => new ErrorStatementSyntax(span),
                validate: (statement, context) => SyntaxLimits.Check(statement, context) ? statement : new ErrorStatementSyntax(statement.Span));

        private static readonly Parser<IOption<ExpressionSyntax>> ParameterDefault =
            (from eq in Lexical.Symbol('=')
             from value in ExpressionGrammar.Expression
             select value).XOptional();

        /// <summary><c>: i32[B, T]</c>, a tensor parameter's type, as an input declares it. XOptional: after the colon a type must follow.</summary>
        private static readonly Parser<IOption<TensorTypeSyntax>> ParameterType =
            (from colon in Lexical.Symbol(':')
             from type in StatementGrammar.TensorType
             select type).XOptional();

        /// <summary><c>p</c>, <c>p = default</c> or <c>mask: i32[B, T]</c> (a tensor parameter; a default after it is MDL0326)</summary>
        private static readonly Parser<BlockParameterSyntax> BlockParameter =
            from name in Lexical.Identifier.Named("parameter name")
            from type in ParameterType
            from @default in ParameterDefault
            let end = @default.IsDefined ? @default.Get().Span : type.IsDefined ? type.Get().Span : name.Span
            select new BlockParameterSyntax(name, @default.GetOrDefault(), name.Span.Cover(end), type.GetOrDefault());

        private static readonly Parser<IEnumerable<BlockParameterSyntax>> MoreParameters =
            (from comma in Lexical.Symbol(',')
             from parameter in BlockParameter
             select parameter).Repeated();

        private static readonly Parser<IOption<List<BlockParameterSyntax>>> OptionalParameters =
            (from first in BlockParameter
             from rest in MoreParameters
             select new[] { first }.Concat(rest).ToList()).XOptional();

        private static readonly Parser<IReadOnlyList<BlockParameterSyntax>> BlockParameters =
            from open in Lexical.Symbol('(')
            from parameters in OptionalParameters
            from close in Lexical.Symbol(')')
            select (IReadOnlyList<BlockParameterSyntax>)parameters.GetOrElse(new List<BlockParameterSyntax>());

        private static readonly Parser<Identifier> BlockName = Lexical.Identifier.Named("block name");
        private static readonly Parser<Identifier> ModelName = Lexical.Identifier.Named("model name");

        private static readonly Parser<DeclarationSyntax> Block =
            from keyword in Lexical.Keyword("block")
            from name in BlockName
            from parameters in BlockParameters
            from body in Body
            select (DeclarationSyntax)new BlockSyntax(name, parameters, body.Items, keyword.Cover(body.Close));

        private static readonly Parser<DeclarationSyntax> Model =
            from keyword in Lexical.Keyword("model")
            from name in ModelName
            from body in Body
            select (DeclarationSyntax)new ModelSyntax(name, body.Items, keyword.Cover(body.Close));

        public static readonly Parser<DeclarationSyntax> Declaration =
            Config.XOr(Block).XOr(Model).Named("'config', 'block' or 'model'");

        /// <summary>Checks a block's parameter defaults (bodies are checked statement by statement as they are read).</summary>
        public static DeclarationSyntax Validate(DeclarationSyntax declaration, ParseContext context)
        {
            if (declaration is not BlockSyntax block) return declaration;
            var parameters = block.Parameters
                .Select(p => SyntaxLimits.Check(p, context) ? p : p with { Default = null, Type = null })
                .ToList();
            return block with { Parameters = parameters };
        }
    }
}
