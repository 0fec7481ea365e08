// The engine's controller: walks the descriptor table at the start of the weights blob (one
// 512-bit descriptor per step, see docs/rtl.md), once per image, and runs each step on the
// activation buffer, the constant tables, the GEMM stage and the vector stage.
//   0 END    next image, or done
//   1 LOAD   DDR -> buffer (one buffer word per bus beat), from image / weights / logits base
//   2 STORE  buffer -> DDR (flag bit 24: a debug-trace copy, its cycles counted apart)
//   3 CONST  DDR -> constant table sub (0 bias / offset low, 1 m, 2 e, 3 offset high)
//   4 GEMM   ivit_engine_gemm (sub = B source)
//   5 VEC    ivit_engine_vec (sub = unit)
//   6 HDR    per-image strides of the image and logits pointers
module ivit_engine_core #(
    parameter int N         = 8,
    parameter int DATA_W    = 512,
    parameter int SDEPTH    = 4096,  // activation buffer words per bank
    parameter int PDEPTH    = 128,   // weight panel beats per half
    parameter int CDEPTH    = 64,    // constant table beats per field
    parameter int MAX_BEATS = 32,    // longest row of the row units, in words
    parameter int EXP_FORM  = 1,
    parameter int GELU_FORM = 1,
    parameter int SAW       = $clog2(SDEPTH)
) (
    input  logic              clk,
    input  logic              rst,
    input  logic              ap_start,
    output logic              core_take,
    output logic              core_done,
    output logic              core_idle,
    input  logic [63:0]       arg_image, arg_weights, arg_logits,
    input  logic [31:0]       arg_n_images,
    output logic [63:0]       stat_cycles, stat_trace_cycles,
    // read DMA 0 (image port) and 1 (weights port), write DMA (logits port)
    output logic              r0_cmd_valid,
    input  logic              r0_cmd_ready,
    output logic [63:0]       r0_cmd_addr,
    output logic [31:0]       r0_cmd_beats,
    input  logic              r0_valid,
    output logic              r0_ready,
    input  logic [DATA_W-1:0] r0_data,
    output logic              r1_cmd_valid,
    input  logic              r1_cmd_ready,
    output logic [63:0]       r1_cmd_addr,
    output logic [31:0]       r1_cmd_beats,
    input  logic              r1_valid,
    output logic              r1_ready,
    input  logic [DATA_W-1:0] r1_data,
    output logic              w_cmd_valid,
    input  logic              w_cmd_ready,
    output logic [63:0]       w_cmd_addr,
    output logic [31:0]       w_cmd_beats,
    output logic              w_valid,
    input  logic              w_ready,
    output logic [DATA_W-1:0] w_data,
    input  logic              w_busy
);
    localparam int LN   = $clog2(N);
    localparam int DB   = 512 / DATA_W > 0 ? 512 / DATA_W : 1;   // beats per descriptor
    localparam int LDS  = DATA_W > 512 ? $clog2(DATA_W / 8) : 6;  // log2 descriptor stride
    localparam int CPB  = DATA_W / (32 * N);                      // constant words per beat
    localparam int LCPB = $clog2(CPB);
    localparam int CIW  = $clog2(CDEPTH * CPB);
    localparam int CAW  = $clog2(CDEPTH);
    localparam int WW   = N * 32;
    localparam int LEN_W = $clog2(MAX_BEATS * N + 1);

    typedef enum logic [3:0] {
        S_IDLE, S_FETCH, S_FETCH_W, S_EXEC, S_LOAD, S_STORE, S_CONST, S_GEMM, S_VEC, S_NEXT,
        S_DONE
    } state_t;
    state_t st;

    logic [511:0] desc;
    logic [31:0]  dw [16];
    for (genvar i = 0; i < 16; i++) begin : g_dw
        assign dw[i] = desc[i*32 +: 32];
    end
    logic [7:0] opc, sub;
    logic [5:0] sat_bits;
    logic       trace_flag;
    assign opc = dw[0][7:0];
    assign sub = dw[0][15:8];
    assign sat_bits = dw[0][21:16];
    assign trace_flag = dw[0][24];

    logic [31:0] pc /*verilator public_flat_rd*/;   // step counter, watched by the bench
    logic [31:0] img, beat, dbeat;
    logic [511:0] desc_next;
    if (DATA_W < 512) begin : g_dshift     // descriptor beats arrive low part first
        assign desc_next = {r1_data, desc[511:DATA_W]};
    end else begin : g_done
        assign desc_next = r1_data[511:0];
    end
    logic [63:0] img_base, log_base, img_stride, log_stride;
    logic        cmd_sent, started;

    assign core_idle = (st == S_IDLE);
    assign core_take = (st == S_IDLE) && ap_start;

    // ---------------- constant tables ----------------
    logic [DATA_W-1:0] ctab [4][CDEPTH];
    logic [CIW-1:0] c_idx, g_cidx, v_cidx;
    logic [N*32-1:0] c_f [4];
    assign c_idx = (st == S_GEMM) ? g_cidx : v_cidx;
    for (genvar f = 0; f < 4; f++) begin : g_cf
        logic [DATA_W-1:0] beat_q;
        assign beat_q = ctab[f][CAW'(c_idx >> LCPB)];
        if (CPB > 1) begin : g_sel
            assign c_f[f] = beat_q[int'(c_idx[LCPB-1:0]) * WW +: WW];
        end else begin : g_one
            assign c_f[f] = beat_q[WW-1:0];
        end
    end

    // ---------------- activation buffer ----------------
    logic [N-1:0] we, g_we, v_we, l_we;
    logic [SAW-1:0] waddr, g_waddr, v_waddr, l_waddr;
    logic [WW-1:0] wdata, g_wdata, v_wdata;
    logic [SAW-1:0] ra_addr, rb_addr, g_ra, g_rb, v_ra, v_rb, s_ra;
    logic [N*N*32-1:0] ra_data, rb_data;

    always_comb begin
        case (st)
            S_GEMM:  begin we = g_we; waddr = g_waddr; wdata = g_wdata; end
            S_VEC:   begin we = v_we; waddr = v_waddr; wdata = v_wdata; end
            default: begin we = l_we; waddr = l_waddr; wdata = (dw[0][15:8] == 8'd0) ? r0_data[WW-1:0] : r1_data[WW-1:0]; end
        endcase
        case (st)
            S_GEMM:  begin ra_addr = g_ra; rb_addr = g_rb; end
            S_VEC:   begin ra_addr = v_ra; rb_addr = v_rb; end
            default: begin ra_addr = s_ra; rb_addr = s_ra; end
        endcase
    end

    ivit_engine_spad #(.BANKS(N), .LANES(N), .EW(32), .DEPTH(SDEPTH)) spad (
        .clk, .we, .waddr, .wdata, .ra_addr, .ra_data, .rb_addr, .rb_data
    );

    // ---------------- stages ----------------
    logic g_start, v_start, g_busy, v_busy;
    logic g_cmd_valid, g_rd_ready;
    logic [63:0] g_cmd_addr;
    logic [31:0] g_cmd_beats;
    assign g_start = (st == S_EXEC) && opc == 8'd4;
    assign v_start = (st == S_EXEC) && opc == 8'd5;

    ivit_engine_gemm #(.N(N), .A_W(17), .DATA_W(DATA_W), .SAW(SAW), .PDEPTH(PDEPTH),
                       .CIW(CIW)) gemm (
        .clk, .rst, .start(g_start), .busy(g_busy), .b_mode(sub[1:0]),
        .a_base(SAW'(dw[1])), .a_stride(SAW'(dw[2])), .a_choff(dw[3][15:0]),
        .b_base(SAW'(dw[4])), .b_stride(SAW'(dw[5])), .b_choff(dw[6][15:0]),
        .o_base(SAW'(dw[7])), .o_stride(SAW'(dw[8])), .o_cw(dw[9][15:0]),
        .n_rg(dw[10][15:0]), .n_ct(dw[11][15:0]), .k_len(dw[12][15:0]), .sat_bits,
        .panel_addr(arg_weights + 64'(dw[13])), .panel_beats(dw[14]),
        .c_idx(g_cidx), .c_bias(c_f[0]), .c_m(c_f[1]), .c_e(c_f[2]),
        .rd_cmd_valid(g_cmd_valid), .rd_cmd_ready(r1_cmd_ready), .rd_cmd_addr(g_cmd_addr),
        .rd_cmd_beats(g_cmd_beats), .rd_valid(r1_valid && st == S_GEMM), .rd_ready(g_rd_ready),
        .rd_data(r1_data), .ra_addr(g_ra), .rb_addr(g_rb), .ra_data, .rb_data,
        .we(g_we), .waddr(g_waddr), .wdata(g_wdata)
    );

    ivit_engine_vec #(.N(N), .SAW(SAW), .CIW(CIW), .MAX_BEATS(MAX_BEATS), .EXP_FORM(EXP_FORM),
                      .GELU_FORM(GELU_FORM)) vec (
        .clk, .rst, .start(v_start), .busy(v_busy), .op(sub[1:0]),
        .a_base(SAW'(dw[1])), .a_stride(SAW'(dw[2])), .b_base(SAW'(dw[3])),
        .b_stride(SAW'(dw[4])), .o_base(SAW'(dw[5])), .o_stride(SAW'(dw[6])),
        .rows(dw[7][15:0]), .wpr(dw[8][15:0]), .row_len(LEN_W'(dw[9])), .sat_bits,
        .cfg_k(dw[10][3:0]), .cfg_i0(dw[10][15:4]), .cfg_n(dw[10][20:16]),
        .cfg_m_b(dw[11]), .cfg_e_b(dw[12][5:0]), .cfg_r(dw[13][12:0]),
        .c_idx(v_cidx), .c_lo(c_f[0]), .c_m(c_f[1]), .c_e(c_f[2]), .c_hi(c_f[3]),
        .ra_addr(v_ra), .rb_addr(v_rb), .ra_data, .rb_data,
        .we(v_we), .waddr(v_waddr), .wdata(v_wdata)
    );

    // ---------------- DMA routing ----------------
    logic [63:0] sel_base, ddr_addr;
    always_comb begin
        case (sub[1:0])
            2'd0:    sel_base = img_base;
            2'd1:    sel_base = arg_weights;
            default: sel_base = log_base;
        endcase
    end
    assign ddr_addr = sel_base + {dw[2], dw[1]};

    logic load_use0;
    assign load_use0 = (st == S_LOAD) && sub[1:0] == 2'd0;
    assign r0_cmd_valid = load_use0 && !cmd_sent;
    assign r0_cmd_addr  = ddr_addr;
    assign r0_cmd_beats = dw[7];
    assign r0_ready     = load_use0;

    always_comb begin
        r1_cmd_valid = 1'b0; r1_cmd_addr = '0; r1_cmd_beats = '0; r1_ready = 1'b0;
        case (st)
            S_FETCH: begin
                r1_cmd_valid = 1'b1; r1_cmd_addr = arg_weights + (64'(pc) << LDS);
                r1_cmd_beats = 32'(DB);
            end
            S_FETCH_W: r1_ready = 1'b1;
            S_LOAD: begin
                r1_cmd_valid = sub[1:0] != 2'd0 && !cmd_sent; r1_cmd_addr = ddr_addr;
                r1_cmd_beats = dw[7]; r1_ready = sub[1:0] != 2'd0;
            end
            S_CONST: begin
                r1_cmd_valid = !cmd_sent; r1_cmd_addr = arg_weights + 64'(dw[1]);
                r1_cmd_beats = dw[3]; r1_ready = 1'b1;
            end
            S_GEMM: begin
                r1_cmd_valid = g_cmd_valid; r1_cmd_addr = g_cmd_addr; r1_cmd_beats = g_cmd_beats;
                r1_ready = g_rd_ready;
            end
            default: ;
        endcase
    end

    // LOAD / STORE walk rows t (bank t mod N) and words w of a tensor
    logic [15:0] t, w;
    logic [SAW-1:0] row;
    logic l_beat;
    assign l_beat = (st == S_LOAD) && (sub[1:0] == 2'd0 ? r0_valid : r1_valid);
    assign l_we   = l_beat ? N'(1) << t[LN-1:0] : '0;
    assign l_waddr = row + SAW'(w);

    // STORE: read a word (one cycle), hold it until the write DMA takes it
    logic s_rd, s_hold;
    logic [LN-1:0] s_bank;
    logic [WW-1:0] s_word;
    assign s_ra = row + SAW'(w);
    assign w_cmd_valid = (st == S_STORE) && !cmd_sent;
    assign w_cmd_addr  = ddr_addr;
    assign w_cmd_beats = dw[7];
    assign w_valid = s_hold;
    assign w_data  = DATA_W'(s_word);

    logic last_word;
    assign last_word = (w == dw[6][15:0] - 1) && (t == dw[5][15:0] - 1);

    always_ff @(posedge clk) begin
        if (rst) begin
            st <= S_IDLE; core_done <= 1'b0; stat_cycles <= '0; stat_trace_cycles <= '0;
            pc <= '0; img <= '0; cmd_sent <= 1'b0; started <= 1'b0; s_rd <= 1'b0;
            s_hold <= 1'b0; img_stride <= '0; log_stride <= '0;
        end else begin
            core_done <= 1'b0;
            if (st != S_IDLE) begin
                stat_cycles <= stat_cycles + 1;
                if (st == S_STORE && trace_flag) stat_trace_cycles <= stat_trace_cycles + 1;
            end
            case (st)
                S_IDLE: if (ap_start) begin
                    st <= arg_n_images == 0 ? S_DONE : S_FETCH;
                    pc <= '0; img <= '0; img_base <= arg_image; log_base <= arg_logits;
                    stat_cycles <= '0; stat_trace_cycles <= '0;
                end
                S_FETCH: if (r1_cmd_ready) begin st <= S_FETCH_W; dbeat <= '0; end
                S_FETCH_W: if (r1_valid) begin
                    desc <= desc_next;
                    dbeat <= dbeat + 1;
                    if (dbeat == DB - 1) st <= S_EXEC;
                end
                S_EXEC: begin
                    cmd_sent <= 1'b0; started <= 1'b0; t <= '0; w <= '0;
                    row <= SAW'(dw[3]); beat <= '0; s_rd <= 1'b0; s_hold <= 1'b0;
                    case (opc)
                        8'd0: begin
                            img <= img + 1;
                            img_base <= img_base + img_stride;
                            log_base <= log_base + log_stride;
                            pc <= '0;
                            st <= (img + 1 == arg_n_images) ? S_DONE : S_FETCH;
                        end
                        8'd1: st <= S_LOAD;
                        8'd2: st <= S_STORE;
                        8'd3: st <= S_CONST;
                        8'd4: st <= S_GEMM;
                        8'd5: st <= S_VEC;
                        8'd6: begin
                            img_stride <= {dw[2], dw[1]}; log_stride <= {dw[4], dw[3]};
                            st <= S_NEXT;
                        end
                        default: st <= S_NEXT;
                    endcase
                end
                S_LOAD: begin
                    if ((sub[1:0] == 2'd0 ? r0_cmd_ready : r1_cmd_ready) && !cmd_sent)
                        cmd_sent <= 1'b1;
                    if (l_beat) begin
                        if (w != dw[6][15:0] - 1) w <= w + 1'b1;
                        else begin
                            w <= '0; t <= t + 1'b1;
                            if (t[LN-1:0] == LN'(N - 1)) row <= row + SAW'(dw[4]);
                            if (t == dw[5][15:0] - 1) st <= S_NEXT;
                        end
                    end
                end
                S_STORE: begin
                    if (w_cmd_ready && !cmd_sent) cmd_sent <= 1'b1;
                    if (s_rd) begin           // buffer data of the word read last cycle
                        s_word <= ra_data[int'(s_bank)*WW +: WW];
                        s_hold <= 1'b1;
                        s_rd <= 1'b0;
                    end else if (s_hold) begin
                        if (w_ready) begin
                            s_hold <= 1'b0;
                            if (started) st <= S_NEXT;   // that was the last word
                        end
                    end else if (cmd_sent && !started) begin
                        s_rd <= 1'b1; s_bank <= t[LN-1:0];
                        if (last_word) started <= 1'b1;
                        if (w != dw[6][15:0] - 1) w <= w + 1'b1;
                        else begin
                            w <= '0; t <= t + 1'b1;
                            if (t[LN-1:0] == LN'(N - 1)) row <= row + SAW'(dw[4]);
                        end
                    end
                end
                S_CONST: begin
                    if (r1_cmd_ready && !cmd_sent) cmd_sent <= 1'b1;
                    if (r1_valid) begin
                        ctab[sub[1:0]][CAW'(beat)] <= r1_data;
                        beat <= beat + 1;
                        if (beat == dw[3] - 1) st <= S_NEXT;
                    end
                end
                S_GEMM: begin
                    started <= 1'b1;
                    if (started && !g_busy) st <= S_NEXT;
                end
                S_VEC: begin
                    started <= 1'b1;
                    if (started && !v_busy) st <= S_NEXT;
                end
                S_NEXT: if (!w_busy) begin pc <= pc + 1; st <= S_FETCH; end
                S_DONE: begin core_done <= 1'b1; st <= S_IDLE; end
                default: st <= S_IDLE;
            endcase
        end
    end

    logic unused;
    assign unused = ^{sub[7:2], r0_data};
endmodule
