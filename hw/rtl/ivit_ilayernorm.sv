// I-LayerNorm normalization over rows of cfg_len channels, LANES per beat
// (spec: layernorm.ilayernorm_normalize; the per-channel affine part is a requant stage):
//   LOAD  store the row, sum;       MEAN  mean = floor(16 sum / C) (sequential divider);
//   VAR   V = sum (16x - mean)^2;   SQRT  6 Newton steps x = min(x, (x + V // x) >> 1)
//   from 2^ceil(bitlen(V)/2);       RECIP r = 2^46 // sqrt (0 when V == 0);
//   OUT   n = ((16x - mean) * r + 2^29) >> 30, one beat per cycle.
// The mean keeps 4 fractional bits (y = 16x - floor(16 sum / C)), as the spec does.
// Lanes past cfg_len in the last beat are ignored on input and output 0.
module ivit_ilayernorm #(
    parameter int LANES     = 4,
    parameter int IN_W      = 16,
    parameter int MAX_BEATS = 64,
    parameter int LEN_W     = $clog2(MAX_BEATS * LANES + 1)
) (
    input  logic                  clk,
    input  logic                  rst,
    input  logic [LEN_W-1:0]      cfg_len,
    input  logic                  s_valid,
    output logic                  s_ready,
    input  logic [LANES*IN_W-1:0] s_data,
    output logic                  m_valid,
    input  logic                  m_ready,
    output logic [LANES*18-1:0]   m_data,
    output logic                  m_last
);
    localparam int B_W = $clog2(MAX_BEATS + 1);
    localparam int A_W = $clog2(MAX_BEATS);
    localparam int ITER = 6;
    typedef enum logic [2:0] {S_LOAD, S_MEAN, S_VAR, S_SQRT, S_RECIP, S_OUT} state_t;
    state_t state;

    logic [B_W-1:0] beats;
    assign beats = B_W'(((32)'(cfg_len) + LANES - 1) / LANES);

    function automatic logic lane_ok(input logic [B_W-1:0] beat, input int lane,
                                     input logic [LEN_W-1:0] len);
        lane_ok = (32)'(beat) * LANES + (32)'(lane) < (32)'(len);
    endfunction

    logic [LANES*IN_W-1:0] xbuf [MAX_BEATS];
    logic [B_W-1:0]        wptr, rptr, vcnt;
    logic signed [47:0]    sum, beatsum;
    localparam int MF = 4;                 // fractional bits of the mean
    localparam int Y_W = IN_W + MF + 2;    // |16x - mean| < 2^(IN_W+MF+1)
    logic signed [IN_W+MF:0] mean;
    logic [63:0]           var_acc, beatvar, xs;
    logic [2:0]            iter;
    logic                  sq_run;
    logic [47:0]           recip;
    logic [LANES*IN_W-1:0] xr;
    logic                  vr;
    logic [B_W-1:0]        br;

    always_comb begin
        beatsum = sum;
        for (int l = 0; l < LANES; l++)
            if (lane_ok(wptr, l, cfg_len)) beatsum = beatsum + (48)'($signed(s_data[l*IN_W +: IN_W]));
    end
    assign s_ready = state == S_LOAD;

    // Squares of one beat (VAR pass).
    always_comb begin
        beatvar = var_acc;
        for (int l = 0; l < LANES; l++) begin
            logic signed [Y_W-1:0] y;
            y = ((Y_W)'($signed(xr[l*IN_W +: IN_W])) <<< MF) - (Y_W)'(mean);
            if (lane_ok(br, l, cfg_len)) beatvar = beatvar + (64)'(y * y);
        end
    end

    // bitlen(V) -> Newton start 2^ceil(bitlen/2).
    logic [6:0] vbits;
    always_comb begin
        vbits = '0;
        for (int b = 0; b < 64; b++) if (var_acc[b]) vbits = (7)'(b + 1);
    end

    // Shared sequential divider: mean, the Newton steps, the reciprocal.
    logic        div_start, div_done, unused_div_busy;
    logic [63:0] div_num, div_rem;
    logic [31:0] div_den;
    logic [5:0]  div_bits;
    logic [47:0] div_q;
    ivit_divseq #(.NUM_W(64), .DEN_W(32), .Q_MAX(48), .QB_W(6)) div (
        .clk, .rst, .start(div_start), .num(div_num), .den(div_den), .qbits(div_bits),
        .busy(unused_div_busy), .done(div_done), .q(div_q), .rem(div_rem)
    );
    always_comb begin
        case (state)
            S_MEAN:  begin div_num = (64)'(abs_sum) << MF; div_den = (32)'(cfg_len);
                           div_bits = (6)'(IN_W + MF + 1); end
            S_SQRT:  begin div_num = var_acc; div_den = xs == 0 ? 32'd1 : (32)'(xs);
                           div_bits = 6'd32; end
            default: begin div_num = 64'd1 << 46; div_den = (32)'(xs); div_bits = 6'd47; end
        endcase
    end
    logic [47:0] abs_sum;
    assign abs_sum = sum < 0 ? (48)'(-sum) : (48)'(sum);
    logic [63:0] newton;
    assign newton = (xs + (64)'(div_q)) >> 1;

    // OUT: 2-stage pipeline with backpressure.
    logic [B_W-1:0]        optr, ob1;
    logic                  o_en, o_valid_in, o_s_ready;
    logic [LANES*IN_W-1:0] orow;
    assign o_valid_in = state == S_OUT && optr < beats;
    ivit_pipe_ctrl #(.LAT(2)) octrl (
        .clk, .rst, .s_valid(o_valid_in), .s_ready(o_s_ready), .en(o_en), .m_valid, .m_ready
    );
    always_ff @(posedge clk) begin
        if (o_en) begin
            orow <= xbuf[optr[A_W-1:0]];
            ob1  <= optr;
            for (int l = 0; l < LANES; l++) begin
                logic signed [Y_W-1:0] y;
                logic signed [63:0]     p;
                y = ((Y_W)'($signed(orow[l*IN_W +: IN_W])) <<< MF) - (Y_W)'(mean);
                p = (64)'(y) * $signed({16'd0, recip}) + (64'sd1 <<< 29);
                m_data[l*18 +: 18] <= lane_ok(ob1, l, cfg_len) ? (18)'(p >>> 30) : '0;
            end
            m_last <= ob1 == beats - B_W'(1);
        end
    end

    always_ff @(posedge clk) begin
        div_start <= 1'b0;
        vr        <= 1'b0;
        if (rst) begin
            state <= S_LOAD;
            wptr  <= '0;
            sum   <= '0;
        end else begin
            case (state)
                S_LOAD: if (s_valid) begin
                    xbuf[wptr[A_W-1:0]] <= s_data;
                    sum  <= beatsum;
                    wptr <= wptr + B_W'(1);
                    if (wptr == beats - B_W'(1)) begin
                        state     <= S_MEAN;
                        div_start <= 1'b1;
                    end
                end
                S_MEAN: if (div_done) begin
                    // floor division: a negative sum rounds away from zero when inexact
                    mean    <= sum < 0 ? -((IN_W+MF+1)'(div_q)) - (IN_W+MF+1)'(div_rem != 0)
                                       : (IN_W+MF+1)'(div_q);
                    state   <= S_VAR;
                    rptr    <= '0;
                    vcnt    <= '0;
                    var_acc <= '0;
                end
                S_VAR: begin
                    if (rptr < beats) begin
                        xr   <= xbuf[rptr[A_W-1:0]];
                        vr   <= 1'b1;
                        br   <= rptr;
                        rptr <= rptr + B_W'(1);
                    end
                    if (vr) begin
                        var_acc <= beatvar;
                        vcnt    <= vcnt + B_W'(1);
                        if (vcnt == beats - B_W'(1)) begin
                            state  <= S_SQRT;
                            iter   <= '0;
                            sq_run <= 1'b0;
                        end
                    end
                end
                S_SQRT: begin
                    if (!sq_run) begin
                        xs        <= 64'd1 << ((vbits + 7'd1) >> 1);
                        sq_run    <= 1'b1;
                        div_start <= 1'b1;
                    end else if (div_done) begin
                        if (newton < xs) xs <= newton;
                        iter <= iter + 3'd1;
                        if (iter == (3)'(ITER - 1)) state <= S_RECIP;
                        div_start <= 1'b1;
                    end
                end
                S_RECIP: if (div_done) begin
                    recip <= var_acc == 0 ? '0 : div_q;
                    optr  <= '0;
                    state <= S_OUT;
                end
                S_OUT: begin
                    if (o_valid_in && o_s_ready) optr <= optr + B_W'(1);
                    if (m_valid && m_ready && m_last) begin
                        state <= S_LOAD;
                        wptr  <= '0;
                        sum   <= '0;
                    end
                end
                default: state <= S_LOAD;
            endcase
        end
    end
endmodule
